"""Feed documents → ParsedFeed, and the refusals for things that are not feeds."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.errors import ParseError
from bot.parse import parse_feed
from tests.conftest import DATA


def _parse(name: str):  # type: ignore[no-untyped-def]
    return parse_feed((DATA / name).read_bytes(), name)


def test_rss20_wordpress_item_fields() -> None:
    item = _parse("wordpress-rss20.xml").items[0]
    assert item.guid == "https://www.communitycare.co.uk/?p=210650"
    assert item.author == "Mithran Samuel"
    assert item.comments_count == 1
    assert item.comments_feed_url.endswith("/feed/")
    assert item.image_credit == "Photo: makibestphoto/Adobe Stock"
    assert item.published == datetime(2024, 8, 5, 11, 0, 14, tzinfo=UTC)


def test_rss20_text_has_paragraphs_and_list_items() -> None:
    text = _parse("wordpress-rss20.xml").items[0].text
    assert text.split("\n\n")[1] == "It will be led by Research in Practice\xa0with the panel."
    assert text.endswith("  • First point\n  • Second\n    point")


def test_script_is_sanitised_out_of_html() -> None:
    item = _parse("wordpress-rss20.xml").items[0]
    assert item.html is not None and "<script" not in item.html and "alert" not in item.text


def test_item_without_guid_is_keyed_by_link() -> None:
    item = _parse("wordpress-rss20.xml").items[1]
    assert item.key == "link:www.communitycare.co.uk/2024/08/06/no-guid/"
    assert item.published == datetime(2024, 8, 6, 8, 0, tzinfo=UTC)  # +0100 stored as UTC


def test_rss10() -> None:
    parsed = _parse("rss10.rdf")
    assert parsed.format == "rss10"
    assert parsed.feed.title == "Panel reports (RSS 1.0)"
    assert [i.title for i in parsed.items] == ["Annual report 2023 to 2024"]


def test_atom_content_preferred_over_summary() -> None:
    parsed = _parse("atom10.xml")
    item = parsed.items[0]
    assert parsed.format == "atom10"
    assert item.text == "First paragraph.\n\nSecond & last."
    assert item.summary == "Short summary."
    assert item.published == datetime(2024, 12, 13, 13, 58, 35, tzinfo=UTC)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "file is empty"),
        (b"  \n\t ", "file is empty"),
        (bytes(range(256)) * 4, "binary data"),
        ((DATA / "html-page.html").read_bytes(), "HTML page"),
        (b"just some words, no markup at all", "not an RSS or Atom feed"),
        (
            b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "aaaa">]><rss version="2.0">'
            b"<channel><title>&a;</title></channel></rss>",
            "declares XML entities",
        ),
    ],
)
def test_refusals(data: bytes, message: str) -> None:
    with pytest.raises(ParseError, match=message):
        parse_feed(data, "bad")


def test_repeated_guid_told_apart_by_link() -> None:
    doc = (
        b'<rss version="2.0"><channel><title>t</title><link>http://x.org/</link>'
        b"<item><guid>1</guid><link>http://x.org/a</link><title>A</title></item>"
        b"<item><guid>1</guid><link>http://x.org/b</link><title>B</title></item>"
        b"</channel></rss>"
    )
    keys = [i.key for i in parse_feed(doc, "dup").items]
    assert len(set(keys)) == 2
