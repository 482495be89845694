"""Feed documents (RSS 0.9x/1.0/2.0, Atom) as bytes → `ParsedFeed`.

feedparser only ever sees bytes here: it never does HTTP (fetching is bot.fetch's job).
Its own HTML sanitiser is switched off because it lets `javascript:` links in SVG, forms and
`data:` images through; item HTML is sanitised with nh3 instead (bot.htmltext.sanitise).

What an item may carry is decided here, once, so the archive never holds it: every text
field loses its control characters (bot.cleantext); titles, summaries and content are read
as HTML or as literal text by their declared type (Atom's type="text", an RSS title that
feedparser finds is not HTML); links, comment URLs and images are http(s) or nothing
(bot.urls), relative ones resolved against the feed's URL (a file has none: its channel
link stands in) and the item's xml:base.
"""

from __future__ import annotations

import calendar
import time
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import feedparser

from bot import rss
from bot.cleantext import clean_text
from bot.errors import MarkupTooDeep, ParseError
from bot.htmltext import html_to_text, plain_to_text, sanitise
from bot.identity import item_key, normalise_url
from bot.models import FeedInfo, Item, ParsedFeed
from bot.trackers import image_url
from bot.urls import safe_url

# feedparser 6.0.14 expands internal entities without limit (a 109 KB feed became a
# 300-million-character title), so any document declaring one is refused before parsing.
_ENTITY_DECLARATION = b"<!ENTITY"


def parse_feed(data: bytes, source: str) -> ParsedFeed:
    """Parse one feed document; raise ParseError when it is not a usable feed."""
    _refuse_non_feeds(data, source)
    plain = rss.read(data)  # plain RSS 2.0, the common case, without feedparser's cost
    warnings: tuple[str, ...] = ()
    if plain is not None:
        channel, entries = plain
        version = "rss20"
    else:
        channel, entries, version, warnings = _feedparser(data, source)
    base = safe_url(source)  # the URL it was fetched from; "" for a file
    link = safe_url(_text(channel, "link"), base=base)
    info = FeedInfo(
        title=_read(channel, "title", paragraphs=False),
        link=link,
        description=_read(channel, "subtitle"),
        language=_text(channel, "language"),
        ttl=_ttl(channel),
    )
    problems: list[str] = []
    items = _distinct(tuple(_entry_to_item(e, base or link, problems) for e in entries))
    return ParsedFeed(
        feed=info, items=items, source=source, format=version, warnings=(*warnings, *problems)
    )


def _feedparser(data: bytes, source: str) -> tuple[Any, list[Any], str, tuple[str, ...]]:
    # resolve_relative_uris re-parses every entry's HTML with sgmllib: half of feedparser's
    # time. Item links are resolved regardless, and links inside content HTML are joined to
    # the content's base by the sanitiser.
    doc: Any = feedparser.parse(data, sanitize_html=False, resolve_relative_uris=False)
    if not doc.get("version") and not doc.entries:
        reason = doc.get("bozo_exception") or "no RSS or Atom root element"
        raise ParseError(source, f"not an RSS or Atom feed ({_one_line(reason)})")
    warnings: tuple[str, ...] = ()
    if doc.get("bozo"):
        warnings = (f"feed is not well-formed, read leniently: {_one_line(doc.bozo_exception)}",)
    return doc.feed, doc.entries, doc.get("version") or "unknown", warnings


_PERIODS = {
    "hourly": 3600,
    "daily": 86400,
    "weekly": 604800,
    "monthly": 2592000,
    "yearly": 31536000,
}


def _ttl(channel: Any) -> float | None:
    """How long the feed asks readers to wait: RSS <ttl> (minutes) or sy:updatePeriod divided
    by sy:updateFrequency; the longer of the two."""
    found: list[float] = []
    ttl = _int(channel.get("ttl"))
    if ttl and ttl > 0:
        found.append(ttl * 60.0)
    period = _PERIODS.get(str(channel.get("sy_updateperiod", "")).strip().lower())
    if period:
        frequency = _int(channel.get("sy_updatefrequency")) or 1
        found.append(period / max(1, frequency))
    return max(found) if found else None


def _refuse_non_feeds(data: bytes, source: str) -> None:
    # UTF-16 and UTF-32 documents interleave NUL bytes; without them the markup reads as
    # ASCII, which both the entity check (no bypass by re-encoding) and sniffing need.
    view = data.replace(b"\x00", b"") if b"\x00" in data[:4096] else data
    head = view.lstrip(b"\xef\xbb\xbf\xff\xfe \t\r\n")[:512]
    if not head:
        raise ParseError(source, "file is empty: expected an RSS or Atom feed or a feed dump")
    if _ENTITY_DECLARATION in view:
        raise ParseError(source, "document declares XML entities (<!ENTITY); refused for safety")
    lowered = head.lower()
    if lowered.startswith((b"<!doctype html", b"<html")):
        raise ParseError(source, "is an HTML page, not a feed: check the feed's URL")
    if not head.startswith(b"<") and (view is not data or _mostly_binary(head)):
        raise ParseError(source, "is binary data, not a feed or feed dump")


def _mostly_binary(head: bytes) -> bool:
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        return exc.start < len(head) - 4  # a character cut at the 512-byte mark is not binary
    return False


def _text(mapping: Any, key: str) -> str:
    """A string value of a feedparser dict, without control characters."""
    return clean_text(str(mapping.get(key) or ""))


def _is_html(content_type: str | None) -> bool:
    # text/html and application/xhtml+xml; no type: feedparser copied the value (a summary
    # taken from the content), read as HTML as it always was
    return content_type is None or "html" in content_type


def _read(mapping: Any, key: str, *, paragraphs: bool = True) -> str:
    """A title or summary as archive text, read by its declared type."""
    detail = mapping.get(key + "_detail") or {}
    return _as_text(_text(mapping, key), _is_html(detail.get("type")), paragraphs=paragraphs)


def _as_text(value: str, is_html: bool, *, paragraphs: bool = True) -> str:
    if is_html:
        return html_to_text(value)
    return plain_to_text(value, paragraphs=paragraphs)


def _entry_to_item(entry: Any, base: str, problems: list[str]) -> Item:
    body, body_is_html, body_base, from_content = _body(entry, base)
    text = _as_text(body, body_is_html)
    title = _read(entry, "title", paragraphs=False)
    published = _when(entry.get("published_parsed")) or _when(dict.get(entry, "updated_parsed"))
    # identity from the link as the feed gives it, so archived items keep their keys
    guid, raw_link = _text(entry, "id"), _text(entry, "link")
    link = safe_url(raw_link, base=base)
    image, image_credit = _image(entry, base)
    html = None
    if body_is_html and body.strip():
        try:
            html = sanitise(body, base=body_base)
        except MarkupTooDeep as exc:  # its text is read (lxml stops at 255 levels); no HTML
            where = (title or guid or link)[:80]  # the log cuts URLs to their host
            problems.append(f"item {where!r}: {exc}; kept as text only")
    return Item(
        key=item_key(guid, raw_link, title, published, text),
        guid=guid,
        link=link,
        title=title,
        published=published,
        updated=_updated(entry, published),
        author=_text(entry, "author"),
        summary=_summary(entry, body, text, from_content),
        text=text,
        html=html,
        comments_url=safe_url(_text(entry, "comments"), base=base),
        comments_feed_url=safe_url(_text(entry, "wfw_commentrss"), base=base),
        comments_count=_int(entry.get("slash_comments")),
        image_url=image,
        image_credit=image_credit,
    )


def _body(entry: Any, base: str) -> tuple[str, bool, str, bool]:
    """The item's main markup or text: (value, is HTML, base for its relative links, taken
    from content rather than the summary). HTML content first, then plain-text content
    (other types, e.g. base64 images, are not words), then the summary."""
    content = entry.get("content") or []
    html = [c for c in content if _is_html(c.get("type"))]
    plain = [c for c in content if not _is_html(c.get("type")) and c["type"].startswith("text/")]
    for parts, is_html in ((html, True), (plain, False)):
        value = "\n".join(clean_text(str(c.get("value") or "")) for c in parts)
        if value:
            return value, is_html, _base(base, parts[0]), True
    detail = entry.get("summary_detail") or {}
    return _text(entry, "summary"), _is_html(detail.get("type")), _base(base, detail), False


def _base(feed_base: str, detail: Any) -> str:
    """The base for relative links inside a value: its xml:base (as feedparser resolved it,
    possibly itself relative) against the feed's; an xml:base that is no http(s) URL is
    ignored."""
    return safe_url(clean_text(str(detail.get("base") or "")), base=feed_base) or feed_base


def _summary(entry: Any, body: str, text: str, from_content: bool) -> str:
    if not from_content:
        return _summary_of(text)
    if _text(entry, "summary") == body:
        # feedparser copies content:encoded into `summary` when there is no description:
        # the same markup, so the same text, without laying out the article twice
        return text
    return _read(entry, "summary")


def _summary_of(text: str) -> str:
    return text.split("\n\n", 1)[0]


def _image(entry: Any, base: str) -> tuple[str, str]:
    credit = ""
    credits = entry.get("media_credit") or []
    if credits:
        credit = clean_text(credits[0].get("content", "") or "")
    for media in entry.get("media_content") or []:
        if media.get("medium") == "image" or str(media.get("type", "")).startswith("image/"):
            return image_url(_text(media, "url"), base=base), credit
    for enclosure in entry.get("enclosures") or []:
        if str(enclosure.get("type", "")).startswith("image/"):
            return image_url(_text(enclosure, "href"), base=base), credit
    for thumb in entry.get("media_thumbnail") or []:
        return image_url(_text(thumb, "url"), base=base), credit
    return "", credit


def _when(parsed: time.struct_time | None) -> datetime | None:
    if not parsed:
        return None
    try:  # feedparser normalises to UTC in a struct_time
        return datetime.fromtimestamp(calendar.timegm(parsed), tz=UTC)
    except (OverflowError, ValueError, OSError):
        return None


def _updated(entry: Any, published: datetime | None) -> datetime | None:
    # dict.get: FeedParserDict.get would fall back to pubDate (with a DeprecationWarning)
    updated = _when(dict.get(entry, "updated_parsed"))
    return None if updated == published else updated


def _int(value: Any) -> int | None:
    try:
        return int(str(value).strip())
    except (TypeError, ValueError):
        return None


def _distinct(items: tuple[Item, ...]) -> tuple[Item, ...]:
    """Feeds that repeat a GUID for different entries: tell those apart by link, then content."""
    seen: set[str] = set()
    out: list[Item] = []
    for item in items:
        key = item.key
        if key in seen and item.link:
            key = f"{key} link:{normalise_url(item.link) or item.link}"
        if key in seen:
            key = f"{item.key} {item_key('', '', item.title, item.published, item.text)}"
        if key in seen:
            continue  # the very same entry twice in one document
        seen.add(key)
        out.append(item if key == item.key else _with_key(item, key))
    return tuple(out)


def _with_key(item: Item, key: str) -> Item:
    return replace(item, key=key)


def _one_line(value: object) -> str:
    return " ".join(str(value).split())[:200]
