"""A real SMTP server (aiosmtpd) on 127.0.0.1 that keeps what it accepts."""

from __future__ import annotations

import email
import socket
from dataclasses import dataclass, field
from email.message import Message
from email.policy import default


@dataclass
class Sink:
    """An SMTP server's DATA handler: answers `reply` and keeps what it accepted."""

    reply: str = "250 OK"
    received: list[Message] = field(default_factory=list)
    raw: list[bytes] = field(default_factory=list)  # the same messages, as they came

    async def handle_DATA(self, server: object, session: object, envelope: object) -> str:
        if self.reply == "drop":  # hang up in the middle of the transaction
            server.transport.close()  # type: ignore[attr-defined]
            return "421 closing"
        if self.reply.startswith("250"):
            content = envelope.content  # type: ignore[attr-defined]
            self.received.append(email.message_from_bytes(content, policy=default))
            self.raw.append(content)
        return self.reply


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
