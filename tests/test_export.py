"""Exports apply the intake rules again, so an archive written before them exports cleanly:
well-formed XML and JSON, links by the URL policy, HTML without tracking pixels."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime

import pytest
from lxml import etree

from bot import export
from bot.dump import parse_dump
from bot.htmltext import text_to_html
from bot.models import FeedInfo, Item, StoredItem
from tests.conftest import DUMP

SEEN = datetime(2025, 4, 6, 12, 0, tzinfo=UTC)
STRICT = etree.XMLParser(recover=False, resolve_entities=False)


def _stored(**fields: object) -> StoredItem:
    values: dict[str, object] = {
        "key": "guid:old-1",
        "guid": "old-1",
        "link": "https://news.example/1",
        "title": "Old item",
        "published": SEEN,
        "text": "Words of the old item.",
    }
    values.update(fields)
    return StoredItem(1, "old", Item(**values), "h", None, SEEN, SEEN)  # type: ignore[arg-type]


@pytest.fixture
def old_hostile() -> StoredItem:
    """As an archive written before the intake rules could hold it."""
    return _stored(
        guid="old\x01-1",
        link="javascript:alert(document.cookie)",
        title="Bell\x07 and\x0b tab \ud800",
        author="Ann\x02",
        summary="Escape\x1b[31m",
        comments_url="vbscript:msgbox(1)",
        comments_feed_url="data:text/html,x",
        html='<p>Words<img src="https://tracker.example/p.gif?u=42" width="1" height="1">'
        '<a href="/relative">rel</a></p>',
        image_url="https://pixel.wp.com/g.gif?blog=1",
        image_credit="Credit\x85",
    )


def _rss(items: list[StoredItem], channel: FeedInfo | None = None) -> etree._Element:
    out = io.StringIO()
    export.write_rss(items, channel or FeedInfo(), out)
    return etree.fromstring(out.getvalue().encode("utf-8"), STRICT)


def test_rss_of_control_characters_is_well_formed(old_hostile: StoredItem) -> None:
    item = _rss([old_hostile]).find("channel/item")
    assert item is not None
    assert item.findtext("title") == "Bell and tab "
    assert item.findtext("guid") == "old-1"
    assert item.findtext("description") == "Escape[31m"


def test_rss_drops_unsafe_links_and_keeps_no_tracker(old_hostile: StoredItem) -> None:
    item = _rss([old_hostile]).find("channel/item")
    assert item is not None
    assert item.find("link") is None and item.find("comments") is None
    assert item.find("{http://search.yahoo.com/mrss/}content") is None
    encoded = item.findtext("{http://purl.org/rss/1.0/modules/content/}encoded") or ""
    assert "tracker.example" not in encoded and "<img" not in encoded
    assert "href" not in encoded  # a relative link with nothing safe to read it against


def test_relative_links_in_old_html_read_against_the_items_link() -> None:
    stored = _stored(html='<p><a href="/about">about</a></p>')
    item = _rss([stored]).find("channel/item")
    assert item is not None
    encoded = item.findtext("{http://purl.org/rss/1.0/modules/content/}encoded") or ""
    assert 'href="https://news.example/about"' in encoded


def test_rss_channel_link_follows_the_policy() -> None:
    channel = FeedInfo(title="T\x01", link="javascript:alert(1)")
    root = _rss([], channel)
    assert root.findtext("channel/link") == "https://github.com/reportbot"
    assert root.findtext("channel/title") == "T"


def test_html_too_deep_to_sanitise_is_exported_as_its_text() -> None:
    deep = "<div>" * 1000 + "x" + "</div>" * 1000
    item = _rss([_stored(html=deep)]).find("channel/item")
    assert item is not None
    encoded = item.findtext("{http://purl.org/rss/1.0/modules/content/}encoded")
    assert encoded == text_to_html("Words of the old item.")


def test_jsonl_is_valid_and_clean(old_hostile: StoredItem) -> None:
    out = io.StringIO()
    export.write_jsonl([old_hostile], out)
    out.getvalue().encode("utf-8")  # a lone surrogate could not be written to the file
    record = json.loads(out.getvalue())
    assert (record["title"], record["author"], record["summary"]) == (
        "Bell and tab ",
        "Ann",
        "Escape[31m",
    )
    assert record["link"] == "" and record["comments"] == {"count": None, "url": "", "feed": ""}
    assert record["image"] == {"url": "", "credit": "Credit"}


def test_clean_items_export_unchanged() -> None:
    """The rules change nothing in a clean archive: the dump's items leave as stored."""
    items = parse_dump(DUMP.read_text(encoding="utf-8"), "dump").items
    for n, item in enumerate(items):
        assert export.outgoing(item) == item, n
        assert export.outgoing_html(item) == item.html, n
