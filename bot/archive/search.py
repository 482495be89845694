"""The archive's search, speaker index and newest-first listing, with keyset pagination.

Search takes a parsed `bot.searchquery.SearchQuery`. Pages carry an opaque `next_cursor`
(None on the last page); a cursor not made here raises QueryError.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.archive.items import ItemsMixin
from bot.errors import QueryError
from bot.models import StoredItem
from bot.searchquery import Fragment, SearchQuery, highlighter, snippet

MAX_LIMIT = 100  # hits, speakers or quotes per page


@dataclass(frozen=True)
class SearchHit:
    """One item found. `snippet` is plain text in pieces (the page escapes them)."""

    item_id: int
    feed_key: str
    guid: str
    link: str
    title: str
    published: datetime | None
    snippet: tuple[Fragment, ...]
    rank: float  # higher first: 2.0 the title matches, 1.0 only the body or facts do


@dataclass(frozen=True)
class SearchPage:
    hits: tuple[SearchHit, ...]
    next_cursor: str | None


@dataclass(frozen=True)
class ItemPage:
    items: tuple[StoredItem, ...]
    next_cursor: str | None


@dataclass(frozen=True)
class Speaker:
    """Someone quoted in the archive, under the spelling last used."""

    name: str
    roles: tuple[str, ...]  # the roles given with their quotes, each once
    quote_count: int
    last_quoted: datetime | None  # the newest quoting item's date (publication, else seen)


@dataclass(frozen=True)
class SpeakerPage:
    speakers: tuple[Speaker, ...]
    next_cursor: str | None


@dataclass(frozen=True)
class SpeakerQuote:
    """A quote: `text` is the exact span item.text[start:end] of the quoting item."""

    item_id: int
    title: str
    published: datetime | None
    link: str
    text: str
    role: str
    start: int
    end: int


@dataclass(frozen=True)
class QuotePage:
    quotes: tuple[SpeakerQuote, ...]
    next_cursor: str | None


def speaker_key(name: str) -> str:
    """The form speakers are grouped and looked up by: case and spacing do not matter."""
    return " ".join(name.split()).casefold()


def encode_cursor(values: list[Any]) -> str:
    raw = json.dumps(values, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, kind: str) -> list[Any]:
    """The values `encode_cursor` was given; a first element not `kind`, or anything not
    made by encode_cursor, is a QueryError."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        values = json.loads(raw)
    except (binascii.Error, ValueError) as exc:
        raise QueryError("the page link is not valid; start again from the first page") from exc
    if not isinstance(values, list) or not values or values[0] != kind:
        raise QueryError("the page link is not valid; start again from the first page")
    return values


class SearchMixin(ItemsMixin):
    """Full-text search, speakers and newest-first pages."""

    def search(
        self,
        query: SearchQuery,
        *,
        feed: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        speaker: str | None = None,
        has_figures: bool = False,
        limit: int = 20,
        cursor: str | None = None,
    ) -> SearchPage:
        """Items matching `query` (title matches first, then newest first), filtered by feed
        key, publication date in [since, until), a quote by `speaker`, or having figures."""
        # First implementation: matches in Python over every item (replaced by the indexes).
        limit = max(1, min(limit, MAX_LIMIT))
        after = decode_cursor(cursor, "s") if cursor else None
        pattern = highlighter(query)
        if pattern is None or query.empty:
            return SearchPage((), None)
        hits: list[tuple[int, int, StoredItem]] = []
        for stored in self.items(feed_key=feed):
            item = stored.item
            if since is not None and (item.published is None or item.published < since):
                continue
            if until is not None and (item.published is None or item.published >= until):
                continue
            facts = stored.extraction
            if has_figures and not (facts and facts.figures):
                continue
            if speaker is not None and not (
                facts and any(speaker_key(q.speaker) == speaker_key(speaker) for q in facts.quotes)
            ):
                continue
            body = " ".join([item.summary, item.text, *_fact_texts(stored)])
            if not _matches(query, body + " " + item.title):
                continue
            tier = 0 if _matches_positive(query, item.title) else 1
            hits.append((tier, -stored.id, stored))
        hits.sort(key=lambda h: (h[0], h[1]))
        if after is not None:
            hits = [h for h in hits if (h[0], h[1]) > (after[1], -after[2])]
        page = hits[:limit]
        more = len(hits) > limit
        return SearchPage(
            hits=tuple(
                SearchHit(
                    item_id=s.id,
                    feed_key=s.feed_key,
                    guid=s.item.guid,
                    link=s.item.link,
                    title=s.item.title,
                    published=s.item.published,
                    snippet=snippet((s.item.text, s.item.summary), pattern),
                    rank=2.0 - tier,
                )
                for tier, _, s in page
            ),
            next_cursor=encode_cursor(["s", page[-1][0], -page[-1][1]]) if more else None,
        )

    def latest(
        self,
        *,
        feed: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int = 20,
        cursor: str | None = None,
    ) -> ItemPage:
        """Items newest first by publication date (undated ones last), filtered by feed key
        and publication date in [since, until)."""
        limit = max(1, min(limit, MAX_LIMIT))
        after = decode_cursor(cursor, "l")[1] if cursor else -1
        rows = [
            s
            for s in self.items(feed_key=feed)
            if (since is None or (s.item.published and s.item.published >= since))
            and (until is None or (s.item.published and s.item.published < until))
        ]
        rows = rows[after + 1 :]
        more = len(rows) > limit
        return ItemPage(tuple(rows[:limit]), encode_cursor(["l", after + limit]) if more else None)

    def speakers(self, *, limit: int = 50, cursor: str | None = None) -> SpeakerPage:
        """Everyone quoted (by name), alphabetically, with their roles and quote counts."""
        limit = max(1, min(limit, MAX_LIMIT))
        after = decode_cursor(cursor, "p")[1] if cursor else ""
        found: dict[str, list[Any]] = {}
        for stored in self.items():
            when = stored.item.published or stored.first_seen
            for q in stored.extraction.quotes if stored.extraction else ():
                if not q.speaker.strip():
                    continue
                entry = found.setdefault(speaker_key(q.speaker), [q.speaker, set(), 0, when])
                entry[1].add(q.role)
                entry[2] += 1
                entry[3] = max(entry[3], when)
        keys = sorted(k for k in found if k > after)
        page = keys[:limit]
        return SpeakerPage(
            tuple(
                Speaker(
                    name=found[k][0],
                    roles=tuple(sorted(r for r in found[k][1] if r)),
                    quote_count=found[k][2],
                    last_quoted=found[k][3],
                )
                for k in page
            ),
            encode_cursor(["p", page[-1]]) if len(keys) > limit else None,
        )

    def speaker_quotes(self, name: str, *, limit: int = 20, cursor: str | None = None) -> QuotePage:
        """What `name` said across the archive, newest first."""
        limit = max(1, min(limit, MAX_LIMIT))
        after = decode_cursor(cursor, "q")[1] if cursor else -1
        quotes = [
            SpeakerQuote(
                item_id=s.id,
                title=s.item.title,
                published=s.item.published,
                link=s.item.link,
                text=q.text,
                role=q.role,
                start=q.start,
                end=q.end,
            )
            for s in self.items()
            for q in (s.extraction.quotes if s.extraction else ())
            if speaker_key(q.speaker) == speaker_key(name)
        ]
        quotes = quotes[after + 1 :]
        return QuotePage(
            tuple(quotes[:limit]),
            encode_cursor(["q", after + limit]) if len(quotes) > limit else None,
        )


def _fact_texts(stored: StoredItem) -> list[str]:
    facts = stored.extraction
    if facts is None:
        return []
    return [f.claim or f.text for f in facts.figures] + [
        f"{q.text} {q.speaker} {q.role}" for q in facts.quotes
    ]


def _matches_positive(query: SearchQuery, text: str) -> bool:
    words = _words(text)
    return all(any(_has(words, t.words) for t in group) for group in query.groups)


def _matches(query: SearchQuery, text: str) -> bool:
    words = _words(text)
    return _matches_positive(query, text) and not any(_has(words, t.words) for t in query.excluded)


def _words(text: str) -> list[str]:
    import re

    return [w.lower() for w in re.findall(r"[^\W_]+", text)]


def _has(words: list[str], phrase: tuple[str, ...]) -> bool:
    n = len(phrase)
    return any(tuple(words[i : i + n]) == phrase for i in range(len(words) - n + 1))
