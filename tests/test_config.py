"""Configuration loading and the database URL's precedence."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot import config
from bot.errors import ConfigError
from tests.conftest import ROOT


def test_example_config_is_valid() -> None:
    cfg = config.load(ROOT / "config" / "reportbot.example.toml")
    assert cfg.archive.url == "sqlite:///state/reportbot.db"
    assert [f.id for f in cfg.feeds] == ["cspr"]


def test_no_config_file_means_defaults() -> None:
    assert config.load() == config.Config()


def test_named_missing_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="config file not found"):
        config.load(tmp_path / "nope.toml")


def test_invalid_toml_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text("[archive\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        config.load(path)


def test_env_overrides_config(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REPORTBOT_DATABASE_URL", "postgresql://db/x")
    assert config.database_url(config.Config()) == "postgresql://db/x"
    assert config.database_url(config.Config(), "sqlite:///y.db") == "sqlite:///y.db"


def _load_text(tmp_path: Path, text: str) -> list[str]:
    path = tmp_path / "c.toml"
    path.write_text(text)
    return config.problems(path)


def test_subscription_needs_exactly_one_destination(tmp_path: Path) -> None:
    found = _load_text(tmp_path, '[[subscriptions]]\nid = "w"\n')
    assert any("subscriptions[0].email: give exactly one destination" in p for p in found)


def test_subscription_bad_schedule_and_timezone(tmp_path: Path) -> None:
    found = _load_text(
        tmp_path,
        '[[subscriptions]]\nid = "w"\nemail = ["a@x.org"]\nschedule = "every monday"\n'
        '[[subscriptions]]\nid = "v"\nemail = ["a@x.org"]\ntimezone = "Mars/Olympus"\n',
    )
    assert any(
        "subscriptions[0].schedule: 'every monday' is not a crontab line" in p for p in found
    )
    assert any("subscriptions[1].timezone: unknown time zone 'Mars/Olympus'" in p for p in found)


def test_channel_url_only_by_indirection(tmp_path: Path) -> None:
    found = _load_text(
        tmp_path,
        '[[subscriptions]]\nid = "w"\nchannel = { kind = "slack", url = "https://hooks" }\n',
    )
    assert any("subscriptions[0].channel.url: unknown key" in p for p in found)


def test_smtp_security_none_only_to_loopback(tmp_path: Path) -> None:
    found = _load_text(
        tmp_path, '[smtp]\nhost = "mail.example.org"\nsecurity = "none"\nfrom = "bot@x.org"\n'
    )
    assert any('smtp.security: "none" is only allowed to a relay on loopback' in p for p in found)
    assert (
        _load_text(
            tmp_path,
            '[smtp]\nhost = "127.0.0.1"\nport = 2525\nsecurity = "none"\nfrom = "b@x.org"\n',
        )
        == []
    )


def test_email_header_injection_refused(tmp_path: Path) -> None:
    found = _load_text(
        tmp_path, '[[subscriptions]]\nid = "w"\nemail = ["a@x.org\\nBcc: evil@y.org"]\n'
    )
    assert any("is not one e-mail address" in p for p in found)


def test_delivery_sections_report_every_problem_with_its_path(tmp_path: Path) -> None:
    path = tmp_path / "rb.toml"
    path.write_text(
        '[web]\npublic_url = "http://bot.example.org"\n'
        '[metrics]\nlisten = "9464"\n'
        '[[subscriptions]]\nid = "hook"\nchannel = { kind = "webhook", url_env = "U" }\n'
        '[[subscriptions]]\nid = "mine"\ntemplate = "no/such/folder"\nemail = ["a@example.org"]\n'
    )
    found = [p.split(": ", 1)[1] for p in config.problems(path)]
    assert found == [
        "subscriptions[0].channel.secret_env: a webhook channel needs the HMAC key's variable name",
        "subscriptions[1].template: 'no/such/folder' is not a folder of templates",
        "web.public_url: must be an https URL (RFC 8058 one-click)",
        "metrics.listen: '9464' is not host:port",
    ]


def test_channel_url_comes_from_a_file_or_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    secret = tmp_path / "slack-url"
    secret.write_text("https://hooks.slack.com/services/T/B/x\n")
    assert config.ChannelConfig(kind="slack", url_file=str(secret)).url().endswith("/x")
    monkeypatch.setenv("TEAMS_URL", "ftp://nope")
    with pytest.raises(ConfigError, match=r"teams: the value of \$TEAMS_URL is not an http"):
        config.ChannelConfig(kind="teams", url_env="TEAMS_URL").url()
    gone = config.ChannelConfig(kind="discord", url_file=str(tmp_path / "missing"))
    with pytest.raises(ConfigError, match="discord: cannot read url_file"):
        gone.url()


# -- every problem in one pass (issue 12) -------------------------------------------------

_BROKEN = """
[smtp]
host = "mail.example.org"
security = "starttls"
from = "not an address"

[[feeds]]
id = "a"
url = "https://example.org/feed"
tags = ["news"]
allow_private = "yes"

[[subscriptions]]
id = "weekly"
feeds = ["a", "news", "nope"]
timezone = "Mars/Olympus"
email = ["bob@", "alice@example.org", "alice@EXAMPLE.org"]

[[subscriptions]]
id = "weekly"
channel = { kind = "webhook", url_env = "HOOK_URL" }
max_items = "5"
"""


def test_every_problem_is_reported_in_one_pass(tmp_path: Path) -> None:
    found = [p.split(": ", 1)[1] for p in _load_text(tmp_path, _BROKEN)]
    assert found == [
        "feeds[0].allow_private: 'yes' is not a boolean: write true or false, without quotes",
        "smtp.from: 'not an address' is not one e-mail address: "
        "An email address must have an @-sign.",
        "subscriptions[0].timezone: unknown time zone 'Mars/Olympus'",
        "subscriptions[0].email[0]: 'bob@' is not one e-mail address: "
        "There must be something after the @-sign.",
        "subscriptions[0].feeds[2]: 'nope' is neither the id nor a tag of a feed in [[feeds]]",
        "subscriptions[0].email[2]: 'alice@EXAMPLE.org' is listed already, as email[1] "
        "(addresses are compared ignoring case)",
        "subscriptions[1].max_items: '5' is not a whole number: write it without quotes",
        "subscriptions[1].id: 'weekly' is used by another subscription",
        "subscriptions[1].channel.secret_env: a webhook channel needs the HMAC key's variable name",
    ]


def test_load_names_the_first_problem_and_counts_the_rest(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text(_BROKEN)
    with pytest.raises(ConfigError) as err:
        config.load(path)
    assert str(err.value) == (
        f"{path}: feeds[0].allow_private: 'yes' is not a boolean: write true or false, "
        "without quotes (and 8 more: run `reportbot config check`)"
    )


def test_a_table_with_a_bad_key_still_has_its_rules_checked(tmp_path: Path) -> None:
    found = _load_text(
        tmp_path,
        '[smtp]\nhost = "mail.example.org"\nsecurity = "none"\nfrom = "bot@example.org"\n'
        "port = 0\n",
    )
    assert [p.split(": ", 2)[1] for p in found] == ["smtp.port", "smtp.security"]


def test_types_are_strict(tmp_path: Path) -> None:
    found = _load_text(
        tmp_path,
        '[worker]\nconcurrency = "5"\nper_host = true\nuser_agent = 7\n'
        '[[feeds]]\nid = "a"\nurl = "https://example.org/f"\ntags = "news"\n',
    )
    assert [p.split(": ", 1)[1] for p in found] == [
        "worker.concurrency: '5' is not a whole number: write it without quotes",
        "worker.per_host: True is not a whole number: write it without quotes",
        "worker.user_agent: 7 is not a string: put it in quotes",
        'feeds[0].tags: \'news\' is not a list: write it as ["a", "b"]',
    ]


def test_international_addresses_are_accepted(tmp_path: Path) -> None:
    assert (
        _load_text(
            tmp_path,
            '[smtp]\nhost = "mail.example.org"\nsecurity = "ssl"\n'
            "from = '\"Zoë Bot\" <zoë@example.org>'\n"  # a non-ASCII name is quoted
            'reply_to = "desk@xn--bcher-kva.example"\n'
            '[[subscriptions]]\nid = "w"\n'
            'email = ["zoë@example.org", "josé@bücher.example", "用户@例子.广告"]\n',
        )
        == []
    )


def test_the_same_mailbox_in_two_spellings_is_a_duplicate(tmp_path: Path) -> None:
    found = _load_text(
        tmp_path,
        '[[subscriptions]]\nid = "w"\n'
        'email = ["bob@bücher.example", "Bob@xn--bcher-kva.EXAMPLE", "bob@example.org"]\n',
    )
    assert [p.split(": ", 2)[1] for p in found] == ["subscriptions[0].email[1]"]


def test_subscription_feeds_name_ids_or_tags(tmp_path: Path) -> None:
    feeds = '[[feeds]]\nid = "a"\nurl = "https://example.org/f"\ntags = ["news"]\n'
    sub = '[[subscriptions]]\nid = "w"\nemail = ["a@example.org"]\nfeeds = {}\n'
    assert _load_text(tmp_path, feeds + sub.format('["a", "news"]')) == []
    (found,) = _load_text(tmp_path, feeds + sub.format('["a", "sports"]'))
    assert found.endswith(
        "subscriptions[0].feeds[1]: 'sports' is neither the id nor a tag of a feed in [[feeds]]"
    )


_SECRETS = """
[smtp]
host = "mail.example.org"
security = "starttls"
user = "bot"
password_env = "T_SMTP_PASSWORD"
from = "bot@example.org"

[[subscriptions]]
id = "hook"
channel = { kind = "webhook", url_env = "T_HOOK_URL", secret_env = "T_HOOK_KEY" }

[[subscriptions]]
id = "team"
channel = { kind = "slack", url_file = "slack-url" }

[admin]
kind = "teams"
url_env = "T_ADMIN_URL"

[web]
public_url = "https://bot.example.org"
"""


def test_named_environment_variables_are_checked_when_asked(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text(_SECRETS)
    assert config.problems(path) == []
    assert config.load(path).smtp is not None  # commands that do not send start without them
    assert [p.split(": ", 1)[1] for p in config.problems(path, env=True)] == [
        "smtp.password_env: $T_SMTP_PASSWORD is not set (or is empty) here",
        "subscriptions[0].channel.url_env: $T_HOOK_URL is not set (or is empty) here",
        "subscriptions[0].channel.secret_env: $T_HOOK_KEY is not set (or is empty) here",
        "subscriptions[1].channel.url_file: slack: cannot read url_file slack-url: "
        "No such file or directory",
        "admin.url_env: $T_ADMIN_URL is not set (or is empty) here",
        "web.secret_env: $REPORTBOT_WEB_SECRET is not set (or is empty) here",
    ]


def test_environment_values_are_checked_as_a_sender_reads_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "c.toml"
    path.write_text(_SECRETS)
    (tmp_path / "slack-url").write_text("\n")
    for name, value in [
        ("T_SMTP_PASSWORD", "pw"),
        ("T_HOOK_URL", "hooks.example.org/x"),
        ("T_HOOK_KEY", "k"),
        ("T_ADMIN_URL", "   "),
        ("REPORTBOT_WEB_SECRET", "short"),
    ]:
        monkeypatch.setenv(name, value)
    assert [p.split(": ", 1)[1] for p in config.problems(path, env=True)] == [
        "subscriptions[0].channel.url_env: webhook: the value of $T_HOOK_URL is not an http(s) URL",
        "subscriptions[1].channel.url_file: slack: the webhook URL in slack-url is not set",
        "admin.url_env: $T_ADMIN_URL is not set (or is empty) here",
        "web.secret_env: web: $REPORTBOT_WEB_SECRET must hold a key of at least 16 characters",
    ]
    (tmp_path / "slack-url").write_text("https://hooks.slack.com/services/T/B/x\n")
    monkeypatch.setenv("T_HOOK_URL", "https://hooks.example.org/x")
    monkeypatch.setenv("T_ADMIN_URL", "https://example.webhook.office.com/x")
    monkeypatch.setenv("REPORTBOT_WEB_SECRET", "0123456789abcdef")
    assert config.problems(path, env=True) == []


def test_a_model_built_in_code_still_keeps_its_rules() -> None:
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="email: give exactly one destination"):
        config.SubscriptionConfig(id="w")
    with pytest.raises(ValidationError, match="is used by another subscription"):
        sub = config.SubscriptionConfig(id="w", email=("a@example.org",))
        config.Config(subscriptions=(sub, sub))


def test_smtp_from_is_an_address_and_reply_to_may_be_empty(tmp_path: Path) -> None:
    smtp = '[smtp]\nhost = "mail.example.org"\nsecurity = "ssl"\nreply_to = ""\nfrom = {}\n'
    assert _load_text(tmp_path, smtp.format('"reportbot <bot@example.org>"')) == []
    (found,) = _load_text(tmp_path, smtp.format('""'))
    assert "smtp.from: '' is not one e-mail address" in found
