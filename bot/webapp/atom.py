"""A search as an Atom feed (RFC 4287): a saved search a feed reader can follow. Built with
lxml, so every feed-supplied string is escaped as XML text, never markup."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, datetime

from lxml import etree

from bot.archive.search import SearchHit
from bot.urls import safe_url

ATOM_NS = "http://www.w3.org/2005/Atom"
_A = f"{{{ATOM_NS}}}"
# XML 1.0 cannot hold these at all (lxml refuses them): a feed's stray control character
# must not cost the reader the whole feed
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _text(value: str) -> str:
    return _NOT_XML.sub("", value)


def _iso(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def search_feed(
    hits: Sequence[SearchHit], *, title: str, self_url: str, page_url: str, item_base: str
) -> bytes:
    """The hits as an Atom document. `self_url`: this feed; `page_url`: the search page;
    `item_base`: the site's address, to which "/item/ID" is added for each entry."""
    now = datetime.now(UTC)
    feed = etree.Element(f"{_A}feed", nsmap={None: ATOM_NS})  # type: ignore[dict-item]
    etree.SubElement(feed, f"{_A}id").text = _text(self_url)
    etree.SubElement(feed, f"{_A}title").text = _text(title)
    dates = [h.published for h in hits if h.published is not None]
    etree.SubElement(feed, f"{_A}updated").text = _iso(max(dates) if dates else now)
    etree.SubElement(feed, f"{_A}link", rel="self", href=_text(self_url))
    etree.SubElement(feed, f"{_A}link", rel="alternate", type="text/html", href=_text(page_url))
    etree.SubElement(etree.SubElement(feed, f"{_A}author"), f"{_A}name").text = "reportbot"
    for hit in hits:
        entry = etree.SubElement(feed, f"{_A}entry")
        page = f"{item_base.rstrip('/')}/item/{hit.item_id}"
        etree.SubElement(entry, f"{_A}id").text = page
        etree.SubElement(entry, f"{_A}title").text = _text(hit.title or "(untitled)")
        etree.SubElement(entry, f"{_A}updated").text = _iso(hit.published or now)
        if hit.published is not None:
            etree.SubElement(entry, f"{_A}published").text = _iso(hit.published)
        etree.SubElement(entry, f"{_A}link", rel="alternate", type="text/html", href=page)
        source = safe_url(hit.link)
        if source:
            etree.SubElement(entry, f"{_A}link", rel="related", href=source)
        summary = etree.SubElement(entry, f"{_A}summary", type="text")
        summary.text = _text("".join(f.text for f in hit.snippet))
    return bytes(etree.tostring(feed, xml_declaration=True, encoding="utf-8"))
