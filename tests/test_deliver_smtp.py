"""deliver.smtp's lanes against a server that accepts connections and never greets."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from email.message import Message

import pytest

from bot.config import SmtpConfig
from bot.deliver import smtp
from bot.models import Retry


@pytest.fixture
def silent_server() -> Iterator[tuple[int, list[socket.socket]]]:
    """Accepts TCP connections on 127.0.0.1 and says nothing: (port, accepted sockets)."""
    listener = socket.create_server(("127.0.0.1", 0))
    accepted: list[socket.socket] = []

    def accept() -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            accepted.append(conn)

    threading.Thread(target=accept, daemon=True).start()
    yield listener.getsockname()[1], accepted
    listener.close()
    for conn in accepted:
        conn.close()


def _outgoing(n: int) -> smtp.Outgoing:
    message = Message()
    message["Message-ID"] = f"<{n}@reportbot.test>"
    return smtp.Outgoing(n, "bot@example.org", f"r{n}@example.org", message, utf8=False)


def test_a_lane_that_cannot_connect_holds_its_other_messages_without_retrying(
    silent_server: tuple[int, list[socket.socket]], monkeypatch: pytest.MonkeyPatch
) -> None:
    port, accepted = silent_server
    monkeypatch.setattr(smtp, "TIMEOUT", 0.3)
    settings = {"host": "127.0.0.1", "port": port, "security": "none", "connections": 1}
    cfg = SmtpConfig.model_validate(settings | {"from": "bot@example.org"})
    results = smtp.send([_outgoing(n) for n in range(6)], cfg)
    assert [r.delivery_id for r in results] == list(range(6))
    assert all(isinstance(r.outcome, Retry) for r in results)
    assert len(accepted) == 1  # one connection tried, not one per message
    first = results[0].outcome
    assert isinstance(first, Retry)
    assert first.error == f"smtp 127.0.0.1:{port}: no answer within 0.3 s"
