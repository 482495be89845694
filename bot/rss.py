"""Plain RSS 2.0 — the shape WordPress and most publishing systems emit — read with lxml.

feedparser reads any feed, but spends about 4.5 ms on a 10-item WordPress feed, over half of
a poll's parse, where lxml builds the tree in 0.25 ms. This module reads only documents it is
sure of: well-formed UTF-8 RSS 2.0 with no DOCTYPE, no xml:base or xml:lang, whose channel and
items hold only the elements listed below, each field once. It returns what feedparser
returns for such a document, in the same shape (the feed dict and the entry dicts that
bot.parse maps to Items), or None for anything else, which bot.parse then gives to
feedparser. tests/test_rss.py holds the two to the same Items on every document of
feedparser's own test corpus that this module accepts, and on WordPress feeds.

Each text value goes through the steps of feedparser 6.0's `_FeedParserMixin.pop`, using its
own helpers: strip; join relative URIs (link, comments, wfw:commentRss, a permalink guid);
repair UTF-8 that was read as Latin-1; map Windows-1252 control characters; in links, the
`&amp;` repair. Titles get feedparser's `title_detail` type too: RSS titles are plain text
unless its `looks_like_html` guesses HTML (descriptions and content:encoded are HTML).
"""

from __future__ import annotations

import re
from contextlib import suppress
from typing import Any

from feedparser.datetimes import _parse_date
from feedparser.html import _cp1252
from feedparser.mixin import _FeedParserMixin
from feedparser.urls import _urljoin
from lxml import etree

_CONTENT = "{http://purl.org/rss/1.0/modules/content/}"
_DC = "{http://purl.org/dc/elements/1.1/}"
_WFW = "{http://wellformedweb.org/CommentAPI/}"
_SLASH = "{http://purl.org/rss/1.0/modules/slash/}"
_SY = "{http://purl.org/rss/1.0/modules/syndication/}"
_ATOM = "{http://www.w3.org/2005/Atom}"
_WORDPRESS = "{com-wordpress:feed-additions:1}"
_XML = "{http://www.w3.org/XML/1998/namespace}"

# channel element → feedparser's key; and channel elements that set none of the keys read
_CHANNEL_TEXT = {
    "title": "title",
    "link": "link",
    "description": "subtitle",
    "language": "language",
    "ttl": "ttl",
    _SY + "updatePeriod": "sy_updateperiod",
    _SY + "updateFrequency": "sy_updatefrequency",
}
_CHANNEL_OTHER = frozenset(
    [
        "lastBuildDate",
        "pubDate",
        "generator",
        "image",
        "copyright",
        "managingEditor",
        "webMaster",
        "category",
        "docs",
        _SY + "updateBase",
        _WORDPRESS + "site",
        _ATOM + "link",  # only rel="self"/"hub"...: rel="alternate" would set the link
    ]
)
# item element → feedparser's key (None: read below); category and post-id set none we read
_ITEM_TEXT = {
    "title": "title",
    "link": "link",
    "guid": "id",
    "pubDate": "published",
    "description": "summary",
    _CONTENT + "encoded": None,
    _DC + "creator": "author",
    "comments": "comments",
    _WFW + "commentRss": "wfw_commentrss",
    _SLASH + "comments": "slash_comments",
}
_IMAGE = frozenset(["url", "title", "link", "width", "height", "description"])
_ITEM_OTHER = frozenset(["category", _WORDPRESS + "post-id"])
_URIS = frozenset(["link", "comments", "wfw_commentrss"])
_ATTRIBUTES = {"guid": {"isPermaLink"}, "category": {"domain"}}
_ENTITY_LIKE = re.compile("&([A-Za-z0-9_]+);")
_DECLARATION = re.compile(rb"<\?xml[^>]*?encoding\s*=\s*[\"']([^\"']*)[\"']")

_C1_CONTROLS = re.compile("[\x80-\x9f]")  # the characters feedparser's _cp1252 maps
_PARSER = etree.XMLParser(
    resolve_entities=False, no_network=True, remove_comments=True, remove_pis=True
)


class _Declined(Exception):
    """Not a document this module is sure of: feedparser reads it."""


def read(data: bytes) -> tuple[dict[str, Any], list[dict[str, Any]]] | None:
    """(feed, entries) as feedparser gives them, or None when feedparser must read it."""
    try:
        return _read(data)
    except (_Declined, etree.XMLSyntaxError, ValueError):
        return None


def _read(data: bytes) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    declared = _DECLARATION.match(data)
    if data.startswith(b"\xef\xbb\xbf") or (declared and declared[1].upper() != b"UTF-8"):
        raise _Declined  # feedparser's encoding rules are its own
    root = etree.fromstring(data, _PARSER)
    if root.tag != "rss" or dict(root.attrib) != {"version": "2.0"}:
        raise _Declined
    if _doctype(root) or len(root) != 1 or root[0].tag != "channel":
        raise _Declined
    for el in root.iter():
        for name in map(str, el.attrib):  # feedparser lets a base or language leak past its element
            if name.startswith(_XML) or name in ("base", "lang"):
                raise _Declined
    channel = root[0]
    feed: dict[str, Any] = {}
    entries: list[dict[str, Any]] = []
    for el in channel:
        tag = el.tag
        if tag == "item":
            entries.append(_entry(el))
        elif tag in _CHANNEL_TEXT:
            key = _CHANNEL_TEXT[tag]
            if key in feed or len(el):
                raise _Declined
            value = _value(el, uri=key == "link")
            feed[key] = _ENTITY_LIKE.sub(r"&\g<1>", value) if key == "link" else value
            if key == "title":
                feed["title_detail"] = _title_detail(el)
        elif tag not in _CHANNEL_OTHER or _alternate_link(el) or not _plain(el):
            raise _Declined
    return feed, entries


def _doctype(root: etree._Element) -> str:
    docinfo: Any = root.getroottree().docinfo  # lxml-stubs lack DocInfo.doctype
    return str(docinfo.doctype)


def _plain(el: etree._Element) -> bool:
    """No children, or the channel image's usual ones: feedparser reads a title or link
    nested anywhere else as the channel's own."""
    if el.tag == "image":
        return all(child.tag in _IMAGE and not len(child) for child in el)
    return not len(el)


def _alternate_link(el: etree._Element) -> bool:
    """An atom:link feedparser would take as the channel's link."""
    return el.tag == _ATOM + "link" and (
        el.get("rel", "alternate") == "alternate" or el.get("href") is None
    )


def _entry(item: etree._Element) -> dict[str, Any]:
    entry: dict[str, Any] = {}
    seen: set[str] = set()
    permalink = False
    for el in item:
        tag = el.tag
        if tag in _ITEM_OTHER and not len(el):
            continue  # with children: feedparser reads a title or link inside as the item's
        if tag not in _ITEM_TEXT or tag in seen or len(el):
            raise _Declined
        if set(el.attrib) - _ATTRIBUTES.get(tag, set()):
            raise _Declined
        seen.add(tag)
        key = _ITEM_TEXT[tag]
        if key is None:  # content:encoded
            value = _value(el)
            entry["content"] = [{"type": "text/html", "language": None, "base": "", "value": value}]
            entry.setdefault("summary", value)  # feedparser copies it; a description wins
        elif key == "id":
            permalink = el.get("isPermaLink", "true") == "true"
            entry["id"] = _value(el, uri=permalink)
        elif key == "link":
            value = _value(el, uri=True).replace("&amp;", "&")
            entry["link"] = _ENTITY_LIKE.sub(r"&\g<1>", value)
        else:
            entry[key] = _value(el, uri=key in _URIS)
            if key == "title":
                entry["title_detail"] = _title_detail(el)
            elif key == "published":
                entry["published_parsed"] = _parse_date(entry[key])
            elif key == "author" and "@" in entry[key]:
                raise _Declined  # feedparser splits out e-mail addresses its own way
    if permalink and "link" not in seen:
        entry["link"] = entry["id"]
    return entry


def _title_detail(el: etree._Element) -> dict[str, str]:
    """feedparser's type for an RSS title: plain text unless it looks like HTML (its guess is
    made on the stripped text, before the Latin-1 and Windows-1252 repairs)."""
    looks_like_html = _FeedParserMixin.looks_like_html((el.text or "").strip())
    return {"type": "text/html" if looks_like_html else "text/plain"}


def _value(el: etree._Element, uri: bool = False) -> str:
    out = (el.text or "").strip()
    if uri and out:
        out = _urljoin("", out)
    with suppress(UnicodeError):  # feedparser's repair of UTF-8 read as Latin-1 on the way in
        out = out.encode("iso-8859-1").decode("utf-8")
    # str.translate looks up every character in a dict: search for the few it maps first
    return out.translate(_cp1252) if _C1_CONTROLS.search(out) else out
