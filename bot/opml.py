"""OPML 2.0 subscription lists in and out (what rss2email and Miniflux import and export).

Reading is as careful as reading a feed: no DTD, no entities, no network, bounded size, so a
hostile OPML file is refused with one line, never expanded. Pure: bytes in, feeds out.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from email.utils import format_datetime

from lxml import etree

from bot.errors import ParseError
from bot.urls import safe_url

MAX_BYTES = 5 * 1024 * 1024
MAX_DEPTH = 32  # nested folders; a deeper file is not a subscription list
_TAG = re.compile(r"[^\w-]+")


@dataclass(frozen=True)
class OpmlFeed:
    url: str
    title: str = ""
    html_url: str = ""
    tags: tuple[str, ...] = ()


def read(data: bytes, source: str) -> list[OpmlFeed]:
    """Every outline with an xmlUrl, in document order; folders (outlines without one) and
    `category` attributes become tags. Non-http(s) URLs are refused, not imported."""
    if len(data) > MAX_BYTES:
        raise ParseError(source, f"larger than {MAX_BYTES // 1024 // 1024} MB: not an OPML list")
    if b"<!DOCTYPE" in data[:4096].upper() or b"<!ENTITY" in data.upper():
        raise ParseError(source, "declares a DOCTYPE or entities; refused for safety")
    parser = etree.XMLParser(
        resolve_entities=False, no_network=True, huge_tree=False, load_dtd=False
    )
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as exc:
        raise ParseError(source, f"not well-formed XML: {exc}") from exc
    body = root.find("body")
    if root.tag != "opml" or body is None:
        raise ParseError(source, "not an OPML file (expected <opml> with a <body>)")
    feeds: list[OpmlFeed] = []
    _walk(body, (), 0, feeds, source)
    return feeds


def _walk(
    node: etree._Element, folders: tuple[str, ...], depth: int, out: list[OpmlFeed], source: str
) -> None:
    if depth > MAX_DEPTH:
        raise ParseError(source, f"outlines nested deeper than {MAX_DEPTH}: not an OPML list")
    for outline in node.iterchildren("outline"):
        title = (outline.get("title") or outline.get("text") or "").strip()
        xml_url = (outline.get("xmlUrl") or outline.get("xmlurl") or "").strip()
        if not xml_url:
            _walk(outline, (*folders, title) if title else folders, depth + 1, out, source)
            continue
        url = safe_url(xml_url)
        if not url:
            raise ParseError(source, f"outline {title!r}: xmlUrl {xml_url!r} is not http(s)")
        categories = [c for c in (outline.get("category") or "").split(",") if c.strip()]
        paths = (c.strip().strip("/").split("/") for c in categories)  # "/News/UK": news, uk
        tags = _tags([*folders, *(part for path in paths for part in path)])
        out.append(OpmlFeed(url, title, safe_url(outline.get("htmlUrl")), tags))


def _tags(names: Iterable[str]) -> tuple[str, ...]:
    seen: dict[str, None] = {}
    for name in names:
        tag = _TAG.sub("-", name.strip().lower()).strip("-")
        if tag:
            seen.setdefault(tag)
    return tuple(seen)


def write(feeds: Sequence[OpmlFeed], *, title: str, now: datetime) -> bytes:
    """An OPML 2.0 document: one outline per feed, its tags in `category` (/tag,/tag)."""
    root = etree.Element("opml", version="2.0")
    head = etree.SubElement(root, "head")
    etree.SubElement(head, "title").text = title
    etree.SubElement(head, "dateCreated").text = format_datetime(now)
    body = etree.SubElement(root, "body")
    for feed in feeds:
        attrs = {"type": "rss", "text": feed.title or feed.url, "xmlUrl": feed.url}
        if feed.title:
            attrs["title"] = feed.title
        if feed.html_url:
            attrs["htmlUrl"] = feed.html_url
        if feed.tags:
            attrs["category"] = ",".join(f"/{t}" for t in feed.tags)
        etree.SubElement(body, "outline", attrs)
    out: bytes = etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)
    return out
