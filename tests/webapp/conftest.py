"""The site over a filled archive (SQLite and PostgreSQL), through Starlette's TestClient."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from bot.archive import Archive
from bot.config import Config, WebConfig
from bot.models import Extraction, FeedInfo, Figure, Item, ParsedFeed, Quote
from bot.pipeline import import_files
from tests.conftest import DATA, DUMP, PG_URL, _pg_schema

with warnings.catch_warnings():  # starlette asks for httpx2; httpx is what this project has
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

from bot.webapp import create_app

SECRET = "0123456789abcdef-test"


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def filled(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Archive]:
    """The dump's ten articles, imported once per module and database: the page tests only
    read (tests that write make their own archive)."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('site') / 'archive.db'}"
        yield from _imported(url)
        return
    for schema in _pg_schema():
        sep = "&" if "?" in PG_URL else "?"
        yield from _imported(f"{PG_URL}{sep}options=-csearch_path%3D{schema}")


def _imported(url: str) -> Iterator[Archive]:
    archive = Archive(url)
    archive.upgrade()
    import_files(archive, [DUMP])
    yield archive
    archive.close()


@pytest.fixture(scope="module")
def web_config() -> Iterator[WebConfig]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("REPORTBOT_WEB_SECRET", SECRET)
        yield WebConfig(public_url="https://bot.example.org")


@pytest.fixture(scope="module")
def client(filled: Archive, web_config: WebConfig) -> Iterator[TestClient]:
    """The site over the dump's ten articles."""
    with TestClient(create_app(Config(web=web_config), filled.url)) as test_client:
        yield test_client


@pytest.fixture(scope="module")
def bare_client(filled: Archive) -> Iterator[TestClient]:
    """The site without [web]: browsing works, unsubscribe links do not exist."""
    with TestClient(create_app(Config(), filled.url)) as test_client:
        yield test_client


HOSTILE_FEED = DATA / "web" / "hostile.xml"
SCRIPT = "<script>alert('facts')</script>"
# Facts as an extractor could never produce them: markup and a javascript: URL in the
# speaker, role and quote, stored beside a hostile item to reach every place they are shown.
HOSTILE_TEXT = f"Up {SCRIPT} 45% said “<img src=x onerror=alert('q')> no” today."


def _hostile_facts(_parsed: ParsedFeed, item: Item) -> Extraction:
    text = item.text
    at, q = text.find("45%"), text.find("<img")
    quote_end = text.find(" no") + 3
    return Extraction(
        version="test",
        figures=(
            Figure(
                text="45%",
                start=at,
                end=at + 3,
                kind="percent",
                value=45.0,
                low=None,
                high=None,
                unit="%",
                what=SCRIPT,
                sentence=text,
                salience=1.0,
                claim=f"{SCRIPT} 45% <b onmouseover=alert('claim')>said</b>",
            ),
        ),
        quotes=(
            Quote(
                text=text[q:quote_end],
                start=q,
                end=quote_end,
                speaker="<img src=x onerror=alert('speaker')> Eve",
                role="javascript:alert('role')",
                kind="full",
                sentence=text,
            ),
        ),
    )


def add_hostile(archive: Archive) -> None:
    """The hostile RSS file through the real import (parse, sanitise, extract), and one
    item whose stored facts carry markup themselves."""
    import_files(archive, [HOSTILE_FEED])
    item = Item(
        key="guid:hostile-facts",
        guid="hostile-facts",
        link="javascript:alert('item')",
        title="<svg onload=alert('t')>Facts",
        published=datetime(2025, 3, 4, tzinfo=UTC),
        text=HOSTILE_TEXT,
    )
    feed = FeedInfo(title="<script>alert('feed')</script>", link="javascript:alert(1)")
    parsed = ParsedFeed(feed=feed, items=(item,), source="test", format="test")
    archive.add([(parsed, "hostile-facts")], _hostile_facts)


@pytest.fixture(scope="module")
def hostile(filled: Archive) -> Archive:
    """The dump's ten articles and the hostile items (a module of their own: they change
    what the other pages list)."""
    add_hostile(filled)
    return filled


@pytest.fixture(scope="module")
def hostile_client(hostile: Archive, web_config: WebConfig) -> Iterator[TestClient]:
    with TestClient(create_app(Config(web=web_config), hostile.url)) as test_client:
        yield test_client
