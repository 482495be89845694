"""A site with a public subscription, an SMTP relay and an admin login: shared by the
subscribe and admin tests (TestClient and browser)."""

from __future__ import annotations

import re
from email.message import EmailMessage, Message

import pytest

from bot.config import Config, SmtpConfig, SubscriptionConfig, WebConfig
from bot.webapp.auth import hash_password

SECRET = "0123456789abcdef-test"
PASSWORD = "correct horse battery staple"
HASH_ENV = "REPORTBOT_TEST_ADMIN_HASH"
_HASH = hash_password(PASSWORD)  # argon2 is slow by design: once per test session


def site_config(monkeypatch: pytest.MonkeyPatch, *, smtp_port: int = 2525) -> Config:
    monkeypatch.setenv("REPORTBOT_WEB_SECRET", SECRET)
    monkeypatch.setenv(HASH_ENV, _HASH)
    return Config(
        web=WebConfig(public_url="https://bot.example.org", admin_password_hash_env=HASH_ENV),
        smtp=SmtpConfig(
            host="127.0.0.1", port=smtp_port, security="none", **{"from": "bot@example.org"}
        ),
        subscriptions=(
            SubscriptionConfig(
                id="weekly", name="Weekly reviews", public=True, email=("staff@example.org",)
            ),
            SubscriptionConfig(id="internal", name="Internal", email=("boss@example.org",)),
        ),
    )


def csrf_of(html: str) -> str:
    """The hidden csrf field of the (first) form on a page."""
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, "no csrf field on the page"
    return found.group(1)


def link_in(message: Message | EmailMessage, path: str) -> str:
    """The link to `path` in a received e-mail's text part."""
    assert isinstance(message, EmailMessage)
    body = message.get_body(preferencelist=("plain",))
    assert body is not None
    found = re.search(rf"https?://\S+{re.escape(path)}\?t=\S+", body.get_content())
    assert found, f"no {path} link in the e-mail"
    return found.group(0)
