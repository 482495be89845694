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
