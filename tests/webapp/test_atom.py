"""A search as an Atom document (bot.webapp.atom)."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import UTC, datetime

from bot.archive.search import SearchHit
from bot.searchquery import Fragment
from bot.webapp.atom import search_feed

A = "{http://www.w3.org/2005/Atom}"


def _hit(n: int, *, title: str = "T", link: str = "https://x.org/1") -> SearchHit:
    return SearchHit(
        item_id=n, feed_key="f", guid=f"g{n}", link=link, title=title,
        published=datetime(2025, 3, n, tzinfo=UTC),
        snippet=(Fragment("a "), Fragment("word", highlighted=True)), rank=1.0,
    )  # fmt: skip


def _feed(*hits: SearchHit) -> ET.Element:
    body = search_feed(
        hits, title="reportbot: word", self_url="https://b.org/search.atom?q=word",
        page_url="https://b.org/search?q=word", item_base="https://b.org/",
    )  # fmt: skip
    return ET.fromstring(body)


def test_each_hit_is_an_entry_linking_its_page_and_source() -> None:
    root = _feed(_hit(1), _hit(2))
    entries = root.findall(f"{A}entry")
    assert [e.findtext(f"{A}id") for e in entries] == ["https://b.org/item/1", "https://b.org/item/2"]
    assert entries[0].findtext(f"{A}summary") == "a word"
    assert entries[0].find(f"{A}link[@rel='related']").get("href") == "https://x.org/1"  # type: ignore[union-attr]
    assert root.findtext(f"{A}updated") == "2025-03-02T00:00:00Z"  # the newest hit


def test_markup_and_control_characters_stay_text() -> None:
    root = _feed(_hit(1, title="<script>alert(1)</script>\x00\x1b", link="javascript:alert(1)"))
    (entry,) = root.findall(f"{A}entry")
    assert entry.findtext(f"{A}title") == "<script>alert(1)</script>"  # escaped XML text
    assert entry.find(f"{A}link[@rel='related']") is None  # not an http(s) link


def test_no_hits_is_a_valid_empty_feed() -> None:
    root = _feed()
    assert root.findall(f"{A}entry") == [] and root.findtext(f"{A}title") == "reportbot: word"
