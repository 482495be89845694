"""OPML lists: folders and categories to tags, hostile files refused, a round trip."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot import opml
from bot.errors import ParseError

NESTED = b"""<?xml version="1.0"?>
<opml version="2.0"><head><title>mine</title></head><body>
  <outline text="Safeguarding">
    <outline text="Reviews">
      <outline type="rss" text="Panel" xmlUrl="https://a.example/feed/"
               htmlUrl="https://a.example/" category="/Policy,/Child welfare"/>
    </outline>
    <outline type="rss" title="Courts" text="x" xmlUrl="https://b.example/rss"/>
  </outline>
  <outline type="rss" text="Loose" xmlUrl="https://c.example/atom.xml"/>
</body></opml>"""


def test_nested_outlines_become_tags() -> None:
    feeds = opml.read(NESTED, "mine.opml")
    assert [(f.url, f.title, f.tags) for f in feeds] == [
        (
            "https://a.example/feed/",
            "Panel",
            ("safeguarding", "reviews", "policy", "child-welfare"),
        ),
        ("https://b.example/rss", "Courts", ("safeguarding",)),
        ("https://c.example/atom.xml", "Loose", ()),
    ]
    assert feeds[0].html_url == "https://a.example/"


def test_write_then_read_gives_the_same_feeds() -> None:
    feeds = opml.read(NESTED, "mine.opml")
    again = opml.read(opml.write(feeds, title="t", now=datetime(2026, 12, 1, tzinfo=UTC)), "x")
    assert again == feeds


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            b'<?xml version="1.0"?><!DOCTYPE opml [<!ENTITY a "aaaa">]>'
            b"<opml><body><outline xmlUrl='https://x.example/'>&a;</outline></body></opml>",
            "refused for safety",
        ),
        (b"<opml><body><outline", "not well-formed XML"),
        (b"<html><body>hi</body></html>", "not an OPML file"),
        (
            b"<opml><body><outline text='x' xmlUrl='javascript:alert(1)'/></body></opml>",
            r"is not http\(s\)",
        ),
        (b"<opml><body>" + b"<outline>" * 40 + b"</outline>" * 40 + b"</body></opml>", "nested"),
    ],
)
def test_hostile_or_broken_files_are_refused(data: bytes, message: str) -> None:
    with pytest.raises(ParseError, match=message):
        opml.read(data, "bad.opml")
