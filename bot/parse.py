"""Feed documents (RSS 0.9x/1.0/2.0, Atom) as bytes → `ParsedFeed`.

feedparser only ever sees bytes here: it never does HTTP (fetching is bot.fetch's job).
Its own HTML sanitiser is switched off because it lets `javascript:` links in SVG, forms and
`data:` images through; item HTML is sanitised with nh3 instead (bot.htmltext.sanitise).
"""

from __future__ import annotations

import calendar
import time
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import feedparser

from bot import rss
from bot.errors import ParseError
from bot.htmltext import html_to_text, sanitise
from bot.identity import item_key, normalise_url
from bot.models import FeedInfo, Item, ParsedFeed

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
    info = FeedInfo(
        title=html_to_text(channel.get("title", "")),
        link=channel.get("link", ""),
        description=html_to_text(channel.get("subtitle", "")),
        language=channel.get("language", "") or "",
        ttl=_ttl(channel),
    )
    items = _distinct(tuple(_entry_to_item(e) for e in entries))
    return ParsedFeed(feed=info, items=items, source=source, format=version, warnings=warnings)


def _feedparser(data: bytes, source: str) -> tuple[Any, list[Any], str, tuple[str, ...]]:
    # resolve_relative_uris re-parses every entry's HTML with sgmllib: half of feedparser's
    # time. Item links are resolved regardless; only links inside content HTML stay relative.
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


def _entry_to_item(entry: Any) -> Item:
    content = entry.get("content") or []
    html_parts = [c.get("value", "") for c in content if "html" in c.get("type", "text/html")]
    summary_html = entry.get("summary", "")
    body_html = "\n".join(html_parts) or summary_html
    text = html_to_text(body_html)
    title = html_to_text(entry.get("title", ""))
    published = _when(entry.get("published_parsed")) or _when(dict.get(entry, "updated_parsed"))
    guid, link = entry.get("id", "") or "", entry.get("link", "") or ""
    image_url, image_credit = _image(entry)
    return Item(
        key=item_key(guid, link, title, published, text),
        guid=guid,
        link=link,
        title=title,
        published=published,
        updated=_updated(entry, published),
        author=entry.get("author", "") or "",
        summary=_summary(summary_html, body_html, text, bool(html_parts)),
        text=text,
        html=sanitise(body_html) if body_html.strip() else None,
        comments_url=entry.get("comments", "") or "",
        comments_feed_url=entry.get("wfw_commentrss", "") or "",
        comments_count=_int(entry.get("slash_comments")),
        image_url=image_url,
        image_credit=image_credit,
    )


def _summary(summary_html: str, body_html: str, text: str, has_content: bool) -> str:
    if not has_content:
        return _summary_of(text)
    if summary_html == body_html:
        # feedparser copies content:encoded into `summary` when there is no description:
        # the same markup, so the same text, without laying out the article twice
        return text
    return html_to_text(summary_html)


def _summary_of(text: str) -> str:
    return text.split("\n\n", 1)[0]


def _image(entry: Any) -> tuple[str, str]:
    credit = ""
    credits = entry.get("media_credit") or []
    if credits:
        credit = credits[0].get("content", "") or ""
    for media in entry.get("media_content") or []:
        if media.get("medium") == "image" or str(media.get("type", "")).startswith("image/"):
            return media.get("url", ""), credit
    for enclosure in entry.get("enclosures") or []:
        if str(enclosure.get("type", "")).startswith("image/"):
            return enclosure.get("href", ""), credit
    for thumb in entry.get("media_thumbnail") or []:
        return thumb.get("url", ""), credit
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
