"""The site over a filled archive (SQLite and PostgreSQL), through Starlette's TestClient."""

from __future__ import annotations

import warnings
from collections.abc import Iterator

import pytest

from bot.archive import Archive
from bot.config import Config, WebConfig

with warnings.catch_warnings():  # starlette asks for httpx2; httpx is what this project has
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

from bot.webapp import create_app

SECRET = "0123456789abcdef-test"


@pytest.fixture
def web_config(monkeypatch: pytest.MonkeyPatch) -> WebConfig:
    monkeypatch.setenv("REPORTBOT_WEB_SECRET", SECRET)
    return WebConfig(public_url="https://bot.example.org")


@pytest.fixture
def client(filled: Archive, web_config: WebConfig) -> Iterator[TestClient]:
    """The site over the dump's ten articles."""
    with TestClient(create_app(Config(web=web_config), filled.url)) as test_client:
        yield test_client


@pytest.fixture
def bare_client(filled: Archive) -> Iterator[TestClient]:
    """The site without [web]: browsing works, unsubscribe links do not exist."""
    with TestClient(create_app(Config(), filled.url)) as test_client:
        yield test_client
