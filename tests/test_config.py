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
