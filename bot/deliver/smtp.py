"""E-mail: one SMTP connection per batch, one message per recipient.

Header values are stripped of CR, LF and other control characters before they reach the
message (Python 3.11's email package lets them through: CVE-2024-6923). Message-IDs derive
from the delivery's idempotency key, so a message resent after a crash can be recognised.
"""

from __future__ import annotations

import hashlib
import os
import smtplib
import ssl
import unicodedata
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from email.charset import QP, Charset
from email.header import Header
from email.message import Message
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.policy import compat32
from email.utils import format_datetime, formataddr, parseaddr
from urllib.parse import quote

from bot.config import SmtpConfig
from bot.errors import ConfigError
from bot.models import Delivery, DeliveryResult, Rendered

# 998: RFC 5322's line limit, so a long List-Unsubscribe is never folded into pieces.
# The compat32 MIME classes rather than EmailMessage: the modern API parses every header it
# is given (about 2 ms a message here, two thirds of the cost of a send), and everything we
# set is already cleaned and encoded below.
POLICY = compat32.clone(max_line_length=998)
TIMEOUT = 30.0
# Quoted-printable, not the base64 Python picks for UTF-8: digests are mostly ASCII, so QP
# is a third smaller, stays readable in a raw view, and is still 7-bit safe for any relay.
_QP = Charset("utf-8")
_QP.body_encoding = QP


def body_parts(text: Rendered, html: Rendered) -> tuple[MIMEText, MIMEText]:
    """The text and HTML alternatives. Parts never change once made, so one pair can be
    shared by every recipient of the same digest."""
    return (
        MIMEText(text.body, "plain", _QP, policy=POLICY),  # type: ignore[arg-type]
        MIMEText(html.body, "html", _QP, policy=POLICY),  # type: ignore[arg-type]
    )


def build(
    delivery: Delivery,
    subject: str,
    parts: tuple[MIMEText, MIMEText],
    cfg: SmtpConfig,
    one_click: str = "",
) -> Message:
    """The message for one delivery: multipart/alternative, text first, HTML second.
    `one_click`: the https unsubscribe link (RFC 8058), when the endpoint is served."""
    sender_name, sender_address = parseaddr(clean_header(cfg.from_))
    domain = sender_address.rpartition("@")[2] or "reportbot.invalid"
    msg = MIMEMultipart("alternative", policy=POLICY)
    msg["From"] = formataddr((sender_name, sender_address), charset="utf-8")
    msg["To"] = clean_header(delivery.recipient)
    msg["Subject"] = _encoded(clean_header(subject), "Subject")
    msg["Date"] = format_datetime(delivery.period_end)
    msg["Message-ID"] = f"<{hashlib.sha256(delivery.key.encode()).hexdigest()[:32]}@{domain}>"
    msg["List-Id"] = f"<{clean_header(delivery.subscription)}.{domain}>"
    unsubscribe = f"mailto:{sender_address}?subject={quote('unsubscribe ' + delivery.subscription)}"
    if one_click:
        msg["List-Unsubscribe"] = f"<{clean_header(one_click)}>, <{unsubscribe}>"
        msg["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    else:
        msg["List-Unsubscribe"] = f"<{unsubscribe}>"
    if cfg.reply_to:
        msg["Reply-To"] = formataddr(parseaddr(clean_header(cfg.reply_to)), charset="utf-8")
    msg["Auto-Submitted"] = "auto-generated"
    msg.attach(parts[0])
    msg.attach(parts[1])
    return msg


def _encoded(value: str, name: str) -> str:
    """RFC 2047 encoded words for a non-ASCII value; ASCII stays readable as it is."""
    return value if value.isascii() else Header(value, "utf-8", header_name=name).encode()


def clean_header(value: str) -> str:
    """The value without CR, LF or other control characters (no header injection)."""
    return "".join(" " if unicodedata.category(c) == "Cc" else c for c in value).strip()


def send(
    messages: Sequence[tuple[int, Message]],
    cfg: SmtpConfig,
    on_result: Callable[[DeliveryResult], None] | None = None,
) -> list[DeliveryResult]:
    """Send each (delivery id, message) over `cfg.connections` connections at once (each
    message waits for the server's answer, so a second connection keeps the link busy).
    `on_result` hears of each message as soon as the server answered (from the sending
    thread). Never raises for SMTP trouble: see DeliveryResult."""
    lanes = max(1, min(cfg.connections, len(messages)))
    if lanes == 1:
        return _send_over_one(messages, cfg, on_result)
    chunks = [messages[n::lanes] for n in range(lanes)]
    with ThreadPoolExecutor(max_workers=lanes, thread_name_prefix="smtp") as pool:
        done = pool.map(_send_over_one, chunks, [cfg] * lanes, [on_result] * lanes)
        return [result for chunk in done for result in chunk]


def _send_over_one(
    messages: Sequence[tuple[int, Message]],
    cfg: SmtpConfig,
    on_result: Callable[[DeliveryResult], None] | None,
) -> list[DeliveryResult]:
    """One connection for the whole batch; a dropped connection is reopened for the rest."""
    results: list[DeliveryResult] = []

    def done(result: DeliveryResult) -> None:
        results.append(result)
        if on_result is not None:
            on_result(result)

    client: smtplib.SMTP | None = None
    try:
        for delivery_id, msg in messages:
            try:
                if client is None:
                    client = _connect(cfg)
                client.send_message(msg)
                done(DeliveryResult(delivery_id, ok=True, message_id=str(msg["Message-ID"])))
            except smtplib.SMTPRecipientsRefused as exc:
                code, text = next(iter(exc.recipients.values()))
                done(_failed(delivery_id, code, text))
            except smtplib.SMTPResponseException as exc:
                done(_failed(delivery_id, exc.smtp_code, exc.smtp_error))
                if isinstance(exc, smtplib.SMTPSenderRefused) or exc.smtp_code == 421:
                    _close(client)
                    client = None
            except (smtplib.SMTPException, OSError) as exc:
                done(
                    DeliveryResult(
                        delivery_id, ok=False, error=f"smtp: {type(exc).__name__}: {exc}"
                    )
                )
                _close(client)
                client = None
    finally:
        _close(client)
    return results


def _connect(cfg: SmtpConfig) -> smtplib.SMTP:
    context = ssl.create_default_context()
    client: smtplib.SMTP
    if cfg.security == "ssl":
        client = smtplib.SMTP_SSL(cfg.host, cfg.port, timeout=TIMEOUT, context=context)
    else:
        client = smtplib.SMTP(cfg.host, cfg.port, timeout=TIMEOUT)
        if cfg.security == "starttls":
            client.starttls(context=context)  # raises if the server cannot: no downgrade
    if cfg.user:
        password = os.environ.get(cfg.password_env, "") if cfg.password_env else ""
        if not password:
            raise ConfigError(f"smtp: ${cfg.password_env or 'password_env'} is not set")
        client.login(cfg.user, password)
    return client


def _close(client: smtplib.SMTP | None) -> None:
    if client is not None:
        try:
            client.quit()
        except (smtplib.SMTPException, OSError):
            client.close()


def _failed(delivery_id: int, code: int, text: bytes | str) -> DeliveryResult:
    message = text.decode("utf-8", "replace") if isinstance(text, bytes) else str(text)
    # 4xx: try again later; 5xx: the server refuses for good
    return DeliveryResult(
        delivery_id, ok=False, error=f"smtp: {code} {message}", retry=400 <= code < 500
    )
