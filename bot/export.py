"""Archive items → JSON Lines or RSS 2.0 (with content:encoded).

The RSS carries every field `reportbot import` reads back, so export → import into an empty
archive gives identical items. ElementTree writes the XML, so escaping is never hand-made.

An export is read by other tools and shown to people, so it applies the intake rules again,
whatever an older archive stored: no control characters (XML 1.0 cannot carry them), links
and images only by the URL policy, item HTML sanitised afresh (no tracking pixels).
"""

from __future__ import annotations

import html
import json
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Sequence
from dataclasses import fields, replace
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import IO, Any

from bot.cleantext import clean_text
from bot.errors import MarkupTooDeep
from bot.htmltext import sanitise, text_to_html
from bot.models import FeedInfo, Item, StoredItem, extraction_to_json
from bot.trackers import image_url
from bot.urls import safe_url

NAMESPACES = {
    "content": "http://purl.org/rss/1.0/modules/content/",
    "dc": "http://purl.org/dc/elements/1.1/",
    "wfw": "http://wellformedweb.org/CommentAPI/",
    "slash": "http://purl.org/rss/1.0/modules/slash/",
    "media": "http://search.yahoo.com/mrss/",
}
for _prefix, _uri in NAMESPACES.items():
    ET.register_namespace(_prefix, _uri)


def iso(value: datetime | None) -> str | None:
    """ISO 8601 in UTC with a Z, or None."""
    if value is None:
        return None
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


_TEXT_FIELDS = tuple(f.name for f in fields(Item) if f.type == "str")


def outgoing(item: Item) -> Item:
    """The item as it may leave the archive: text without control characters, links and
    images by the URL policy. Its HTML is left for `outgoing_html` (JSON has none)."""
    values: dict[str, Any] = {name: clean_text(getattr(item, name)) for name in _TEXT_FIELDS}
    values["link"] = safe_url(values["link"])
    values["comments_url"] = safe_url(values["comments_url"])
    values["comments_feed_url"] = safe_url(values["comments_feed_url"])
    values["image_url"] = image_url(values["image_url"])
    return replace(item, **values)


def outgoing_html(item: Item) -> str:
    """The item's HTML sanitised again (relative links from before the URL policy read
    against the article's link), or rebuilt from its text when it has none or nests too
    deep for the sanitiser."""
    if item.html:
        try:
            return sanitise(clean_text(item.html), base=item.link)
        except MarkupTooDeep:
            pass
    return text_to_html(item.text)


def item_record(stored: StoredItem) -> dict[str, Any]:
    """The JSON object for one item (also what `archive show --json` prints)."""
    item = outgoing(stored.item)
    return {
        "guid": item.guid,
        "feed": stored.feed_key,
        "feeds": list(stored.feed_keys or (stored.feed_key,)),  # every feed that carried it
        "title": item.title,
        "link": item.link,
        "published": iso(item.published),
        "updated": iso(item.updated),
        "author": item.author,
        "summary": item.summary,
        "text": item.text,
        "comments": {
            "count": item.comments_count,
            "url": item.comments_url,
            "feed": item.comments_feed_url,
        },
        "image": {"url": item.image_url, "credit": item.image_credit},
        "first_seen": iso(stored.first_seen),
        "last_seen": iso(stored.last_seen),
        "content_hash": stored.content_hash,
        "previous_content_hash": stored.previous_content_hash,
        **_facts(stored),
    }


def _facts(stored: StoredItem) -> dict[str, Any]:
    if stored.extraction is None:
        return {"figures": [], "quotes": [], "extractor_version": None}
    data = extraction_to_json(stored.extraction)
    return {
        "figures": data["figures"],
        "quotes": data["quotes"],
        "extractor_version": data["version"],
    }


def write_jsonl(items: Iterable[StoredItem], out: IO[str]) -> int:
    count = 0
    for stored in items:
        out.write(json.dumps(item_record(stored), ensure_ascii=False) + "\n")
        count += 1
    return count


def write_rss(items: Sequence[StoredItem], channel: FeedInfo, out: IO[str]) -> int:
    rss = ET.Element("rss", {"version": "2.0"})
    chan = ET.SubElement(rss, "channel")
    _sub(chan, "title", channel.title or "reportbot archive")
    _sub(chan, "link", safe_url(channel.link) or "https://github.com/reportbot")
    _sub(chan, "description", channel.description or "Items exported from a reportbot archive")
    if channel.language:
        _sub(chan, "language", channel.language)
    _sub(chan, "lastBuildDate", format_datetime(datetime.now(UTC)))
    _sub(chan, "generator", "reportbot")
    for stored in items:
        _item_element(chan, stored)
    ET.indent(rss, space=" ")
    out.write('<?xml version="1.0" encoding="UTF-8"?>\n')
    out.write(ET.tostring(rss, encoding="unicode"))
    out.write("\n")
    return len(items)


def _item_element(chan: ET.Element, stored: StoredItem) -> None:
    item = outgoing(stored.item)
    el = ET.SubElement(chan, "item")
    _sub(el, "title", item.title)
    if item.link:
        _sub(el, "link", item.link)
    if item.comments_url:
        _sub(el, "comments", item.comments_url)
    if item.author:
        _sub(el, f"{{{NAMESPACES['dc']}}}creator", item.author)
    if item.published:
        _sub(el, "pubDate", format_datetime(item.published.astimezone(UTC), usegmt=True))
    if item.guid:
        _sub(el, "guid", item.guid).set("isPermaLink", "false")
    # RSS descriptions are HTML: escape the plain-text summary so "<" survives a round trip.
    _sub(el, "description", html.escape(item.summary, quote=False))
    _sub(el, f"{{{NAMESPACES['content']}}}encoded", outgoing_html(item))
    if item.comments_feed_url:
        _sub(el, f"{{{NAMESPACES['wfw']}}}commentRss", item.comments_feed_url)
    if item.comments_count is not None:
        _sub(el, f"{{{NAMESPACES['slash']}}}comments", str(item.comments_count))
    if item.image_url:
        media = ET.SubElement(
            el, f"{{{NAMESPACES['media']}}}content", {"url": item.image_url, "medium": "image"}
        )
        if item.image_credit:
            _sub(media, f"{{{NAMESPACES['media']}}}credit", item.image_credit)


def _sub(parent: ET.Element, tag: str, text: str) -> ET.Element:
    el = ET.SubElement(parent, tag)
    el.text = clean_text(text)  # the channel's fields too, and anything an old archive holds
    return el
