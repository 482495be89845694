"""bot.signup's pure rules and the config keys of web sign-ups and the admin login."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot import config, ratelimit, signup
from bot.cli import run
from bot.models import Dead, MailState, Retry, Sent, Unknown
from bot.webapp.auth import password_ok

NOW = datetime(2026, 12, 1, 12, tzinfo=UTC)
_PUBLIC = """
[smtp]
host = "127.0.0.1"
security = "none"
from = "bot@example.org"

[[subscriptions]]
id = "weekly"
public = true

[web]
public_url = "https://bot.example.org"
admin_password_hash_env = "T_ADMIN_HASH"
"""


def test_sent_and_unknown_mails_are_done() -> None:
    assert signup.mail_outcome(Sent("<x@y>"), attempts=1, now=NOW)[0] is MailState.SENT
    assert signup.mail_outcome(Unknown("cut"), attempts=1, now=NOW)[0] is MailState.SENT


def test_refused_mail_is_retried_later() -> None:
    state, at, error = signup.mail_outcome(Retry("451 busy"), attempts=1, now=NOW)
    assert state is MailState.PENDING and at is not None and at > NOW and error == "451 busy"


def test_mail_is_given_up_after_its_attempts_or_a_5xx() -> None:
    last = signup.MAIL_ATTEMPTS
    assert signup.mail_outcome(Retry("451"), attempts=last, now=NOW)[0] is MailState.DEAD
    assert signup.mail_outcome(Dead("550 no"), attempts=1, now=NOW)[:2] == (MailState.DEAD, None)


def test_recipients_add_signups_not_already_configured() -> None:
    assert signup.recipients(["A@example.org"], ["a@example.org", "zoë@example.org"]) == [
        "A@example.org",
        "zoë@example.org",
    ]


def test_rate_buckets_hide_the_value_and_depend_on_the_kind() -> None:
    ip = ratelimit.bucket(signup.SUBSCRIBE_PER_IP, "a@example.org")
    address = ratelimit.bucket(signup.SUBSCRIBE_PER_ADDRESS, "a@example.org")
    assert ip != address and "example" not in ip and len(ip) == 64


def test_limit_is_over_only_past_its_hits() -> None:
    limit = ratelimit.Limit("x", 3, 60)
    assert not ratelimit.over(limit, 3) and ratelimit.over(limit, 4)


def test_confirmation_email_carries_both_links() -> None:
    text, html = signup.confirmation_email(
        title="Weekly <b>", confirm="https://x/subscribe/confirm?t=a", manage="https://x/m?t=b"
    )
    assert "https://x/subscribe/confirm?t=a" in text.body and "https://x/m?t=b" in text.body
    assert "Weekly &lt;b&gt;" in html.body  # escaped in HTML
    assert text.subject == "Confirm your subscription to Weekly <b>"


def test_public_subscription_needs_no_configured_address(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text(_PUBLIC)
    assert config.problems(path) == []
    assert config.load(path).subscription("weekly").public


def test_public_subscription_cannot_post_to_a_channel(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    channel = 'public = true\nchannel = { kind = "slack", url_env = "X" }'
    path.write_text(_PUBLIC.replace("public = true", channel))
    assert [p.split(": ", 1)[1] for p in config.problems(path)] == [
        "subscriptions[0].public: only an e-mail subscription can be public (no channel)"
    ]


def test_public_subscription_without_web_is_a_warning(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text(_PUBLIC.split("[web]")[0])
    assert any("public, but sign-ups need [web]" in w for w in config.warnings(config.load(path)))


def test_admin_hash_variable_is_checked_when_asked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "c.toml"
    path.write_text(_PUBLIC)
    monkeypatch.setenv("REPORTBOT_WEB_SECRET", "0123456789abcdef")
    found = [p.split(": ", 1)[1] for p in config.problems(path, env=True)]
    assert found == ["web.admin_password_hash_env: $T_ADMIN_HASH is not set (or is empty) here"]
    monkeypatch.setenv("T_ADMIN_HASH", "hunter2")  # a password, not its hash
    found = [p.split(": ", 1)[1] for p in config.problems(path, env=True)]
    bad = (
        "web.admin_password_hash_env: web: $T_ADMIN_HASH does not hold a valid argon2 hash (a "
        "password, or a hash cut short?): make one with `reportbot admin hash-password`"
    )
    assert found == [bad]
    monkeypatch.setenv("T_ADMIN_HASH", "$argon2id$garbage")  # the prefix alone is not enough
    assert [p.split(": ", 1)[1] for p in config.problems(path, env=True)] == [bad]


def test_hash_password_prints_a_hash_of_stdin(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import io

    monkeypatch.setattr("sys.stdin", io.StringIO("a long enough password\n"))
    assert run(["admin", "hash-password"]) == 0
    printed = capsys.readouterr().out.strip()
    assert printed.startswith("$argon2id$") and password_ok(printed, "a long enough password")


def test_hash_password_refuses_a_short_one(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import io

    monkeypatch.setattr("sys.stdin", io.StringIO("short\n"))
    assert run(["admin", "hash-password"]) == 1
    out, err = capsys.readouterr()
    assert out == "" and "at least 12 characters" in err
