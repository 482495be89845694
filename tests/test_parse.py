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


def _atom_entry(entry: str, base: str = "") -> bytes:
    xml_base = f' xml:base="{base}"' if base else ""
    return (
        f'<feed xmlns="http://www.w3.org/2005/Atom"{xml_base}><title>t</title><id>urn:f</id>'
        f"<entry><id>urn:e</id>{entry}</entry></feed>"
    ).encode()


def test_atom_text_title_is_taken_literally() -> None:
    doc = _atom_entry('<title type="text">Why &lt;canvas&gt; beats Flash</title>')
    assert parse_feed(doc, "a").items[0].title == "Why <canvas> beats Flash"


def test_atom_html_title_is_read_as_html() -> None:
    doc = _atom_entry('<title type="html">Why &lt;em&gt;this&lt;/em&gt; works</title>')
    assert parse_feed(doc, "a").items[0].title == "Why this works"


def test_rss_title_feedparser_finds_plain_is_literal() -> None:
    doc = b'<rss version="2.0"><channel><item><title>Use &lt;b&gt; tags</title></item></channel>'
    doc += b"</rss>"
    assert parse_feed(doc, "r").items[0].title == "Use <b> tags"


def test_atom_text_content_keeps_paragraphs_and_has_no_html() -> None:
    doc = _atom_entry('<content type="text">a &lt;b&gt; c\n\nsecond</content>')
    item = parse_feed(doc, "a").items[0]
    assert (item.text, item.html) == ("a <b> c\n\nsecond", None)


def test_relative_links_resolve_against_the_fetched_url() -> None:
    doc = _atom_entry(
        '<link href="posts/1"/><content type="html">&lt;a href="/x"&gt;x&lt;/a&gt;</content>'
    )
    item = parse_feed(doc, "https://news.example/blog/feed.xml").items[0]
    assert item.link == "https://news.example/blog/posts/1"
    assert 'href="https://news.example/x"' in (item.html or "")


def test_a_files_relative_links_resolve_against_its_channel_link() -> None:
    doc = (
        b'<rss version="2.0"><channel><link>https://site.example/news/</link>'
        b"<item><link>/a</link><title>A</title></item></channel></rss>"
    )
    assert parse_feed(doc, "state/feed.xml").items[0].link == "https://site.example/a"


def test_xml_base_is_followed_unless_it_is_no_web_url() -> None:
    followed = _atom_entry('<link href="p"/>', base="https://elsewhere.example/dir/")
    assert parse_feed(followed, "https://news.example/f").items[0].link == (
        "https://elsewhere.example/dir/p"
    )
    hostile = _atom_entry(
        '<link href="javascript:alert(1)"/><content type="html">&lt;a href="p"&gt;p&lt;/a&gt;'
        "</content>",
        base="javascript:alert(1)//",
    )
    item = parse_feed(hostile, "https://news.example/f").items[0]
    assert item.link == ""
    assert 'href="https://news.example/p"' in (item.html or "")


def test_deeply_nested_item_is_kept_as_text_with_a_warning() -> None:
    deep = "&lt;p&gt;Intro.&lt;/p&gt;" + "&lt;div&gt;" * 5000 + "x" + "&lt;/div&gt;" * 5000
    parsed = parse_feed(_atom_entry(f'<content type="html">{deep}</content>'), "a")
    assert (parsed.items[0].text, parsed.items[0].html) == ("Intro.", None)
    assert parsed.warnings == (
        "item 'urn:e': HTML nested more than 200 levels deep; kept as text only",
    )


def test_control_characters_are_stripped_from_every_field() -> None:
    doc = (
        b'<rss version="2.0"><channel><title>T\x01</title><item><title>A\x0b\x01B</title>'
        b"<guid>g\x02</guid><description>d\x1b&#x1;</description></item></channel></rss>"
    )
    parsed = parse_feed(doc, "c")
    item = parsed.items[0]
    assert (parsed.feed.title, item.title, item.guid, item.text) == ("T", "AB", "g", "d")
