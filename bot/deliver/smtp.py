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
from collections.abc import Sequence
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, parseaddr
from urllib.parse import quote

from bot.config import SmtpConfig
from bot.errors import ConfigError
from bot.models import Delivery, DeliveryResult, Rendered

# 998: RFC 5322's line limit, so a long List-Unsubscribe is never folded into pieces.
POLICY = SMTP.clone(max_line_length=998)
TIMEOUT = 30.0


def build(
    delivery: Delivery, text: Rendered, html: Rendered, cfg: SmtpConfig, one_click: str = ""
) -> EmailMessage:
    """The message for one delivery: multipart/alternative, text first, HTML second.
    `one_click`: the https unsubscribe link (RFC 8058), when the endpoint is served."""
    sender_name, sender_address = parseaddr(clean_header(cfg.from_))
    domain = sender_address.rpartition("@")[2] or "reportbot.invalid"
    msg = EmailMessage(policy=POLICY)
    msg["From"] = str(Address(display_name=sender_name, addr_spec=sender_address))
    msg["To"] = clean_header(delivery.recipient)
    msg["Subject"] = clean_header(text.subject)
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
        msg["Reply-To"] = clean_header(cfg.reply_to)
    msg["Auto-Submitted"] = "auto-generated"
    msg.set_content(text.body)
    msg.add_alternative(html.body, subtype="html")
    return msg


def clean_header(value: str) -> str:
    """The value without CR, LF or other control characters (no header injection)."""
    return "".join(" " if unicodedata.category(c) == "Cc" else c for c in value).strip()


def send(messages: Sequence[tuple[int, EmailMessage]], cfg: SmtpConfig) -> list[DeliveryResult]:
    """Send each (delivery id, message) over one connection; a dropped connection is
    reopened for the rest. Never raises for SMTP trouble: see DeliveryResult."""
    results: list[DeliveryResult] = []
    client: smtplib.SMTP | None = None
    try:
        for delivery_id, msg in messages:
            try:
                if client is None:
                    client = _connect(cfg)
                client.send_message(msg)
                results.append(
                    DeliveryResult(delivery_id, ok=True, message_id=str(msg["Message-ID"]))
                )
            except smtplib.SMTPRecipientsRefused as exc:
                code, text = next(iter(exc.recipients.values()))
                results.append(_failed(delivery_id, code, text))
            except smtplib.SMTPResponseException as exc:
                results.append(_failed(delivery_id, exc.smtp_code, exc.smtp_error))
                if isinstance(exc, smtplib.SMTPSenderRefused) or exc.smtp_code == 421:
                    _close(client)
                    client = None
            except (smtplib.SMTPException, OSError) as exc:
                results.append(
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
