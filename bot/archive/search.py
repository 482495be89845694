"""The archive's search, speaker index and newest-first listing, with keyset pagination.

Search takes a parsed `bot.searchquery.SearchQuery`. Pages carry an opaque `next_cursor`
(None on the last page); a cursor not made here raises QueryError.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import IntEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from bot import schema
from bot.archive import index
from bot.archive.base import _row_to_stored
from bot.archive.index import speaker_key
from bot.archive.items import ItemsMixin
from bot.errors import QueryError
from bot.models import StoredItem
from bot.schema import UTCDateTime
from bot.searchquery import Fragment, SearchQuery, Term, highlighter, snippet

MAX_LIMIT = 100  # hits, speakers or quotes per page
RECENT_QUOTES = 20  # a speaker's latest quotes, read for their name and roles


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
    roles: tuple[str, ...]  # the roles given with their latest quotes, each once
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


INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
_BAD_CURSOR = "the page link is not valid; start again from the first page"


def encode_cursor(kind: str, *values: int | str | None) -> str:
    """An opaque cursor: where the next page starts (the last row's sort key)."""
    raw = json.dumps([kind, *values], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, kind: str, *types: type | tuple[type, ...]) -> list[Any]:
    """The values encode_cursor(kind, ...) was given, checked against `types`; anything
    else (a cursor edited by hand, or of another listing) is a QueryError."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        values = json.loads(raw)
    except (binascii.Error, ValueError) as exc:
        raise QueryError(_BAD_CURSOR) from exc
    if (
        not isinstance(values, list)
        or len(values) != len(types) + 1
        or values[0] != kind
        or not all(
            isinstance(v, t) and not isinstance(v, bool)
            for v, t in zip(values[1:], types, strict=True)
        )
    ):
        raise QueryError(_BAD_CURSOR)
    # ids are signed 64-bit in both databases: a larger number would overflow the driver
    if any(isinstance(v, int) and not INT64_MIN <= v <= INT64_MAX for v in values[1:]):
        raise QueryError(_BAD_CURSOR)
    return values[1:]


def _moment(value: str) -> datetime:
    """A cursor's date (ISO text, UTC)."""
    try:
        when = datetime.fromisoformat(value)
    except ValueError as exc:
        raise QueryError(_BAD_CURSOR) from exc
    return when if when.tzinfo else when.replace(tzinfo=UTC)


class _Tier(IntEnum):
    """Search results come in tiers, each newest archived first: the title matches, then
    only the body or facts do. Ranking within a tier by relevance would score every match
    of a common word (seconds at 100,000 items); this order is read straight off the index."""

    TITLE = 0
    BODY = 1


_FILTER_SQL = {
    # every feed that carried the item (item_feeds), not only the first: a story another
    # feed joined is found under either feed's filter
    "feed_id": "i.id IN (SELECT item_id FROM item_feeds WHERE feed_id = :feed_id)",
    "since": "i.published >= :since",
    "until": "i.published < :until",
    "speaker": (
        "EXISTS (SELECT 1 FROM quotes q WHERE q.item_id = i.id AND q.speaker_key = :speaker)"
    ),
    "has_figures": "i.figure_count > 0",
}
_HIT_COLUMNS = "i.id, f.key AS feed_key, i.guid, i.link, i.title, i.published, i.summary, i.text"


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
        """Items matching `query`: those whose title matches first, then the others, each
        newest archived first; filtered by feed key, publication date in [since, until), a
        quote by `speaker`, or having figures."""
        limit = max(1, min(limit, MAX_LIMIT))
        tier, after = _Tier.TITLE, None
        if cursor:
            number, after = decode_cursor(cursor, "s", int, int)
            if number not in set(_Tier):
                raise QueryError(_BAD_CURSOR)
            tier = _Tier(number)
        if query.empty:
            return SearchPage((), None)
        params: dict[str, Any] = {
            "since": since,
            "until": until,
            "speaker": speaker_key(speaker) if speaker is not None else None,
            "has_figures": has_figures or None,
        }
        with self._read() as conn:
            if conn.dialect.name == "postgresql":
                # Plan with the query's own words: psycopg prepares a statement run five
                # times, and PostgreSQL's generic plan then (not knowing whether a word is
                # common) read every match through the GIN index: 0.25-1.4 s at 100,000 items
                # for words whose plan with the words is a 2 ms walk down the id index. The
                # words' frequencies come from statistics kept on 10x more lexemes (0012).
                conn.exec_driver_sql("SET LOCAL plan_cache_mode = force_custom_plan")
            if feed is not None:
                params["feed_id"] = conn.execute(
                    sa.select(schema.feeds.c.id).where(schema.feeds.c.key == feed)
                ).scalar()
                if params["feed_id"] is None:
                    return SearchPage((), None)
            # a row folded into another story (0011) is that story's copy: never a hit
            filters = ["i.merged_into IS NULL"]
            filters += [sql for name, sql in _FILTER_SQL.items() if params.get(name) is not None]
            if until is not None:
                # The ids of the items in the date window bound the scan: the index is read
                # newest id first, and a window a year back would otherwise be reached only
                # after every newer match was looked at (185 ms at 100,000 items). Exact
                # whatever the ids' order; tight when items were archived as published.
                # (With `since` alone the newest ids come first anyway: no bound needed.)
                params["low"], params["high"] = _id_window(
                    conn, feed_id=params.get("feed_id"), since=since, until=until
                )
                if params["high"] is None:
                    return SearchPage((), None)
                filters += ["{id} >= :low", "{id} <= :high"]
            binds = {k: v for k, v in params.items() if k in _BINDS and v is not None}
            found: list[tuple[_Tier, Any]] = []
            for current in _Tier:
                if current < tier:
                    continue
                want = limit + 1 - len(found)
                where = filters + (["{id} < :after"] if current == tier and after else [])
                values = binds | {"after": after, "limit": want} | statement_binds(query)
                statement = _search_sql(conn.dialect.name, query, current, where)
                found += [(current, row) for row in conn.execute(statement, values)]
                if len(found) > limit:
                    break
        pattern = highlighter(query)
        page = found[:limit]
        hits = tuple(
            SearchHit(
                item_id=row.id,
                feed_key=row.feed_key,
                guid=row.guid,
                link=row.link,
                title=row.title,
                published=row.published,
                snippet=snippet((row.text, row.summary), pattern),
                rank=float(len(_Tier) - current),
            )
            for current, row in page
        )
        more = len(found) > limit
        return SearchPage(hits, encode_cursor("s", page[-1][0], page[-1][1].id) if more else None)

    def latest(
        self,
        *,
        feed: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int = 20,
        cursor: str | None = None,
    ) -> ItemPage:
        """Items newest first by publication date (undated ones last, newest archived
        first), filtered by feed key and publication date in [since, until)."""
        limit = max(1, min(limit, MAX_LIMIT))
        t, f = schema.items, schema.feeds
        dated, after_date, after_id = True, None, None
        if cursor:
            when, after_id = decode_cursor(cursor, "l", (str, type(None)), int)
            dated, after_date = when is not None, _moment(when) if when is not None else None
        base = (
            sa.select(t, f.c.key.label("feed_key"))
            .join(f, f.c.id == t.c.feed_id)
            .where(t.c.merged_into.is_(None))  # a folded copy (0011) is listed as its story
        )
        if feed is not None:  # every feed that carried the item, as in search
            m = schema.item_feeds
            carried = sa.select(m.c.item_id).join(f, f.c.id == m.c.feed_id).where(f.c.key == feed)
            base = base.where(t.c.id.in_(carried))
        if since is not None:
            base = base.where(t.c.published >= since)
        if until is not None:
            base = base.where(t.c.published < until)
        found: list[Any] = []
        with self._read() as conn:
            if dated:
                query = base.where(t.c.published.is_not(None))
                if after_date is not None:
                    query = query.where(
                        sa.or_(
                            t.c.published < after_date,
                            sa.and_(t.c.published == after_date, t.c.id < after_id),
                        )
                    )
                query = query.order_by(t.c.published.desc(), t.c.id.desc()).limit(limit + 1)
                found += conn.execute(query).all()
            if len(found) <= limit and since is None and until is None:
                query = base.where(t.c.published.is_(None))
                if not dated:
                    query = query.where(t.c.id < after_id)
                query = query.order_by(t.c.id.desc()).limit(limit + 1 - len(found))
                found += conn.execute(query).all()
        page = [_row_to_stored(row) for row in found[:limit]]
        if len(found) <= limit:
            return ItemPage(tuple(page), None)
        last = page[-1]
        when = last.item.published.isoformat() if last.item.published else None
        return ItemPage(tuple(page), encode_cursor("l", when, last.id))

    def speakers(self, *, limit: int = 50, cursor: str | None = None) -> SpeakerPage:
        """Everyone quoted by name, alphabetically, with their roles and quote counts."""
        limit = max(1, min(limit, MAX_LIMIT))
        (after,) = decode_cursor(cursor, "p", str) if cursor else ("",)
        q, t = schema.quotes, schema.items
        counts = (
            sa.select(
                q.c.speaker_key,
                sa.func.count().label("quotes"),
                sa.func.max(q.c.quoted_at).label("last"),
            )
            .join(t, t.c.id == q.c.item_id)
            .where(q.c.speaker_key > after, t.c.merged_into.is_(None))  # not folded copies
            .group_by(q.c.speaker_key)
            .order_by(q.c.speaker_key)
            .limit(limit + 1)
        )
        with self._read() as conn:
            found = conn.execute(counts).all()
            keys = [row.speaker_key for row in found[:limit]]
            # the name and roles from each speaker's latest quotes only (an index range
            # each): reading all the quotes of a much-quoted speaker would cost per page
            # what the counts cost for the whole archive
            recent = {
                key: conn.execute(
                    sa.select(q.c.speaker, q.c.role)
                    .join(t, t.c.id == q.c.item_id)
                    .where(q.c.speaker_key == key, t.c.merged_into.is_(None))
                    .order_by(q.c.quoted_at.desc(), q.c.id.desc())
                    .limit(RECENT_QUOTES)
                ).all()
                for key in keys
            }
        speakers = tuple(
            Speaker(
                name=recent[row.speaker_key][0].speaker,
                roles=tuple(sorted({r.role for r in recent[row.speaker_key] if r.role})),
                quote_count=row.quotes,
                last_quoted=row.last,
            )
            for row in found[:limit]
        )
        more = len(found) > limit
        return SpeakerPage(speakers, encode_cursor("p", keys[-1]) if more else None)

    def speaker_quotes(self, name: str, *, limit: int = 20, cursor: str | None = None) -> QuotePage:
        """What `name` (any case or spacing) said across the archive, newest first."""
        limit = max(1, min(limit, MAX_LIMIT))
        q, t = schema.quotes, schema.items
        query = (
            sa.select(q, t.c.title, t.c.published, t.c.link)
            .join(t, t.c.id == q.c.item_id)
            .where(q.c.speaker_key == speaker_key(name), t.c.merged_into.is_(None))
            .order_by(q.c.quoted_at.desc(), q.c.id.desc())
            .limit(limit + 1)
        )
        if cursor:
            when, after_id = decode_cursor(cursor, "q", str, int)
            at = _moment(when)
            query = query.where(
                sa.or_(q.c.quoted_at < at, sa.and_(q.c.quoted_at == at, q.c.id < after_id))
            )
        with self._read() as conn:
            found = conn.execute(query).all()
        quotes = tuple(
            SpeakerQuote(
                item_id=row.item_id,
                title=row.title,
                published=row.published,
                link=row.link,
                text=row.text,
                role=row.role,
                start=row.span_start,
                end=row.span_end,
            )
            for row in found[:limit]
        )
        if len(found) <= limit:
            return QuotePage(quotes, None)
        last = found[limit - 1]
        return QuotePage(quotes, encode_cursor("q", last.quoted_at.isoformat(), last.id))


_BINDS = ("feed_id", "since", "until", "speaker", "low", "high")


def _id_window(
    conn: Connection, *, feed_id: int | None, since: datetime | None, until: datetime
) -> tuple[int | None, int | None]:
    """The lowest and highest id of the items published in [since, until) (in the feed)."""
    t, m = schema.items, schema.item_feeds
    carried = sa.select(m.c.item_id).where(m.c.feed_id == feed_id)
    where: list[sa.ColumnElement[bool]] = [t.c.id.in_(carried)] if feed_id is not None else []
    where += [t.c.published >= since] if since is not None else []
    where.append(t.c.published < until)
    # id + 0: PostgreSQL would answer min(id) by walking the id index until a row in the
    # window turned up (280 ms a year back); this reads the window's rows by date instead
    span = (sa.func.min(t.c.id + 0), sa.func.max(t.c.id + 0))
    low, high = conn.execute(sa.select(*span).where(*where)).one()
    return low, high


def statement_binds(query: SearchQuery) -> dict[str, str]:
    """The terms' texts by bind name (t0, t1, ...): the only way they reach the database."""
    return {f"t{n}": term.text for n, term in enumerate(_terms(query))}


def _terms(query: SearchQuery) -> list[Term]:
    return [term for group in query.groups for term in group] + list(query.excluded)


def _search_sql(dialect: str, query: SearchQuery, tier: _Tier, filters: list[str]) -> Any:
    """One tier's statement; the terms are bind parameters t0, t1, ... (statement_binds)."""
    names = {id(term): f":t{n}" for n, term in enumerate(_terms(query))}
    # the id column the index is read by: FTS5 sees only constraints on its own rowid
    column = f"{index.FTS_TABLE}.rowid" if dialect == "sqlite" else "i.id"
    where = " AND ".join(f.replace("{id}", column) for f in filters)
    where = f" AND {where}" if where else ""
    if dialect == "sqlite":
        # the FTS5 query is itself a bound value: its syntax is made here, each term a
        # quoted string (FTS5 tokenises it as a phrase), so typed syntax stays text
        sql = (
            f"SELECT {_HIT_COLUMNS} FROM {index.FTS_TABLE} CROSS JOIN items i "
            f"ON i.id = {index.FTS_TABLE}.rowid JOIN feeds f ON f.id = i.feed_id "
            f"WHERE {index.FTS_TABLE} MATCH :match{where} "
            f"ORDER BY {index.FTS_TABLE}.rowid DESC LIMIT :limit"
        )
        statement = sa.text(sql).bindparams(match=fts_match(query, tier))
    else:
        positive = " && ".join(
            "(" + " || ".join(_phrase(names[id(t)]) for t in group) + ")" for group in query.groups
        )
        full = positive
        if query.excluded:
            excluded = " || ".join(_phrase(names[id(t)]) for t in query.excluded)
            full = f"({positive}) && !!({excluded})"
        title = f"to_tsvector('{index.PG_CONFIG}'::regconfig, i.title) @@ ({positive})"
        title = title if tier is _Tier.TITLE else f"NOT ({title})"
        sql = (
            f"SELECT {_HIT_COLUMNS} FROM items i JOIN feeds f ON f.id = i.feed_id "
            f"WHERE i.search @@ ({full}) AND {title}{where} ORDER BY i.id DESC LIMIT :limit"
        )
        statement = sa.text(sql)
    dates = [sa.bindparam(n, type_=UTCDateTime) for n in ("since", "until") if f":{n}" in where]
    return statement.bindparams(*dates).columns(published=UTCDateTime)


def _phrase(bind: str) -> str:
    return f"phraseto_tsquery('{index.PG_CONFIG}'::regconfig, {bind})"


def fts_match(query: SearchQuery, tier: _Tier) -> str:
    """The FTS5 query for one tier of `query`."""

    def quoted(term: Term) -> str:
        return '"' + term.text.replace('"', '""') + '"'

    positive = " AND ".join("(" + " OR ".join(map(quoted, g)) + ")" for g in query.groups)
    title = f"{{title}} : ({positive})"
    match = title if tier is _Tier.TITLE else f"({positive}) NOT ({title})"
    if query.excluded:
        match = f"({match}) NOT ({' OR '.join(map(quoted, query.excluded))})"
    return match
