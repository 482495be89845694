"""Pure: choose and shape the items of one subscription's digest for one period.

Selection: items first archived in [start, end) from the subscription's feeds (ids or tags;
none means every feed), kept when the title or text holds any `include` word and none of the
`exclude` words (whole words, case-insensitive), newest first, at most `max_items`.
A digest item's link is an http(s) URL or "" (bot.urls), whatever the archive holds.

The digest states the range of its items' own dates (`span`), not the period's bounds: a
backfilled first period starts long before its oldest item, and a reader wants to know what
the items are from.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import datetime

from bot.config import SubscriptionConfig
from bot.extract import top_figures, top_quote
from bot.models import Digest, DigestItem, StoredItem
from bot.urls import safe_url
from bot.weblinks import item_link

EXCERPT_CHARS = 300


def feed_keys(
    sub: SubscriptionConfig, all_keys: Sequence[str], feed_tags: Mapping[str, Sequence[str]]
) -> set[str] | None:
    """The feed keys a subscription reads (named by id or by tag); None means every feed."""
    if not sub.feeds:
        return None
    wanted = set(sub.feeds)
    return {k for k in all_keys if k in wanted or wanted & set(feed_tags.get(k, ()))}


def build(
    sub: SubscriptionConfig,
    items: Sequence[StoredItem],
    *,
    feed_titles: Mapping[str, str],
    start: datetime,
    end: datetime,
    unsubscribe: str = "",
    public_url: str = "",
) -> Digest:
    """The digest of the items first archived in [start, end); it states `span` of the
    items it holds (the period itself when it holds none). With the web site's
    `public_url`, each item links to its page there (figures, quotes, the marked text)."""
    chosen = select(sub, items, start, end)[: sub.max_items]
    digest_items = tuple(
        _digest_item(s, feed_titles.get(s.feed_key, s.feed_key), public_url) for s in chosen
    )
    feeds = tuple(dict.fromkeys(i.feed_title for i in digest_items))
    first, last = span(chosen) or (start, end)
    return Digest(
        subscription=sub.id,
        title=sub.name or sub.id,
        period_start=first,
        period_end=last,
        items=digest_items,
        feeds=feeds,
        unsubscribe=unsubscribe,
    )


def select(
    sub: SubscriptionConfig, items: Sequence[StoredItem], start: datetime, end: datetime
) -> list[StoredItem]:
    """The items the subscription wants from this period, newest first (not cut)."""
    chosen = [s for s in items if _keeps(sub, s) and start <= s.first_seen < end]
    chosen.sort(key=lambda s: (s.item.published or s.first_seen, s.id), reverse=True)
    return chosen


def span(items: Sequence[StoredItem]) -> tuple[datetime, datetime] | None:
    """The oldest and newest of the items' dates: each one's publication date, or when it
    was first archived if the feed gave none or a date after that (a date in the future is
    the feed's mistake). None for no items."""
    dates = [_date(s) for s in items]
    return (min(dates), max(dates)) if dates else None


def _date(stored: StoredItem) -> datetime:
    published = stored.item.published
    if published is None or published > stored.first_seen:
        return stored.first_seen
    return published


def _keeps(sub: SubscriptionConfig, stored: StoredItem) -> bool:
    if not sub.include and not sub.exclude:
        return True
    haystack = f"{stored.item.title}\n{stored.item.text}"
    if sub.include and not any(_has_word(haystack, w) for w in sub.include):
        return False
    return not any(_has_word(haystack, w) for w in sub.exclude)


def _has_word(text: str, word: str) -> bool:
    return re.search(rf"(?<!\w){re.escape(word)}(?!\w)", text, re.IGNORECASE) is not None


def _digest_item(stored: StoredItem, feed_title: str, public_url: str) -> DigestItem:
    item = stored.item
    facts = stored.extraction
    return DigestItem(
        title=item.title,
        link=safe_url(item.link),  # archived before the URL policy: no link rather than a bad one
        published=item.published,
        feed_title=feed_title,
        excerpt=shorten(item.summary or item.text, EXCERPT_CHARS),
        figures=tuple(top_figures(facts, readable_only=True)) if facts else (),
        quote=top_quote(facts) if facts else None,
        page=item_link(public_url, stored.id) if public_url else "",
    )


def shorten(text: str, limit: int) -> str:
    """At most `limit` characters, cut at a word, with an ellipsis when cut."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text[: limit - 1].rsplit(" ", 1)[0].rstrip(",;:–-")
    return cut + "…"
