"""Items: the write that returns only what is new or updated, facts, and the reads."""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields, replace
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from bot import schema
from bot.archive import index
from bot.archive.base import (
    _CHUNK,
    STORY_LOCK,
    ArchiveBase,
    Extractor,
    Feed,
    _facts_values,
    _feed,
    _first_line,
    _item_values,
    _row_to_stored,
    _slug,
    _stored,
    _strip_nul,
    _unique_key,
    redact,
)
from bot.decide import (
    Facts,
    FetchStatus,
    ItemChange,
    ItemWrite,
    MissingFacts,
    item_keys,
    plan_items,
)
from bot.errors import ArchiveError
from bot.identity import Story, match_story, normalise_url, story_guid, story_of
from bot.models import (
    AddResult,
    Extraction,
    FeedInfo,
    Item,
    ParsedFeed,
    StoredItem,
    extraction_from_json,
)

_NOT_EXTRACTED = MissingFacts("not extracted")


def _story_lock(conn: Connection) -> None:
    """See base.STORY_LOCK: held until the transaction ends (SQLite: one writer anyway)."""
    if conn.dialect.name == "postgresql":
        conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": STORY_LOCK})


# The item page reads every column an Item has but its HTML (never shown; often the largest).
_PAGE_COLUMNS = [f.name for f in fields(Item) if f.name != "html"]
_FEED_FIELDS = [f.name for f in fields(Feed)]


@functools.cache
def _item_page_query() -> sa.Select[Any]:
    """The item with every feed that carried it (item_feeds), each a row, and its home
    feed's key: one statement (each round trip to PostgreSQL costs more than the lookups
    themselves). A row folded into another story keeps no memberships: its home feed shows.
    Built once: constructing a statement costs more than running it on a small lookup."""
    t, m, f = schema.items, schema.item_feeds, schema.feeds
    home = f.alias("home")
    wanted: sa.BindParameter[int] = sa.bindparam("item_id")
    return (
        sa.select(
            *(t.c[name] for name in _PAGE_COLUMNS),
            t.c.id,
            t.c.content_hash,
            t.c.previous_content_hash,
            t.c.first_seen,
            t.c.last_seen,
            t.c.facts,
            t.c.merged_into,
            home.c.key.label("feed_key"),
            *(c.label(f"carrier_{c.name}") for c in f.c if c.name in _FEED_FIELDS),
        )
        .join(home, home.c.id == t.c.feed_id)
        .outerjoin(m, m.c.item_id == t.c.id)
        .join(f, f.c.id == sa.func.coalesce(m.c.feed_id, t.c.feed_id))
        .where(t.c.id == wanted)
        .order_by(f.c.title, f.c.id)
    )


@dataclass(frozen=True)
class ItemDetail:
    """One item and every feed that carries it (one story in several feeds: item_feeds)."""

    stored: StoredItem
    feeds: tuple[Feed, ...]


class ItemsMixin(ArchiveBase):
    # -- writes -------------------------------------------------------------------------

    def add(
        self,
        documents: Sequence[tuple[ParsedFeed, str | None]],
        extractor: Extractor | None = None,
    ) -> tuple[AddResult, ...]:
        """Archive every document's items in ONE transaction, each under its own feed or under
        the feed key given beside it; new and updated items get their facts from `extractor`
        in the same transaction. Per document: the new and updated items only."""
        now = datetime.now(UTC)
        results: list[AddResult] = []
        try:
            with self._write() as conn:
                _story_lock(conn)  # first: later documents' writes must not wait holding rows
                for parsed, feed_key in documents:
                    feed = self._ensure_feed(conn, parsed.feed, feed_key, now)
                    stored = self._known(conn, feed.id, item_keys(parsed.items))
                    writes = plan_items(
                        parsed.items, {k: r.content_hash for k, r in stored.items()}
                    )
                    facts: dict[str, Facts] | None = None
                    if extractor is not None:
                        facts = {
                            w.item.key: extractor(parsed, w.item) for w in writes if w.needs_facts
                        }
                    n, u, same = self._write_items(conn, feed, writes, facts=facts, now=now)
                    results.append(
                        AddResult(
                            source=parsed.source,
                            feed_key=feed.key,
                            new=tuple(n),
                            updated=tuple(u),
                            unchanged=same,
                        )
                    )
                    conn.execute(
                        schema.fetch_log.insert().values(
                            feed_id=feed.id,
                            at=now,
                            source=_strip_nul(parsed.source),
                            status=FetchStatus.OK.value,
                            http_status=None,
                            new=len(n),
                            updated=len(u),
                            unchanged=same,
                            error=None,
                        )
                    )
        except sa.exc.SQLAlchemyError as exc:
            raise ArchiveError(
                f"could not write to the archive at {redact(self.url)}: {_first_line(exc)}"
            ) from exc
        return tuple(results)

    def _ensure_feed(
        self, conn: Connection, info: FeedInfo, key: str | None, now: datetime
    ) -> Feed:
        rows = [_feed(r) for r in conn.execute(sa.select(schema.feeds))]
        if key is not None:
            for feed in rows:
                if feed.key == key:
                    return feed
        else:
            wanted = normalise_url(info.link) or normalise_url(info.url)
            for feed in rows:
                if wanted and wanted in (normalise_url(feed.link), normalise_url(feed.url)):
                    return feed
            key = _unique_key(_slug(info), {f.key for f in rows})
        feed = Feed(
            id=0,
            key=key,
            title=_strip_nul(info.title),
            link=_strip_nul(info.link),
            url=_strip_nul(info.url),
            description=_strip_nul(info.description),
            language=_strip_nul(info.language)[:35],
        )
        values = {f.name: getattr(feed, f.name) for f in fields(Feed) if f.name != "id"}
        pk = conn.execute(
            schema.feeds.insert().values(**values, created_at=now)
        ).inserted_primary_key
        assert pk is not None
        return replace(feed, id=pk[0])

    def _known(
        self, conn: Connection, feed_id: int, keys: Sequence[str], *, full: bool = False
    ) -> dict[str, Any]:
        """This feed's copies of these item keys (item_feeds): (key, content_hash as the feed
        last carried it), with the item's id, own hash and first_seen when `full` (the
        columns compared and kept, never the stored words: tens of KB an item)."""
        m, t = schema.item_feeds, schema.items
        columns: tuple[Any, ...] = (m.c.key, m.c.content_hash)
        if full:
            columns += (
                m.c.item_id.label("id"),
                t.c.content_hash.label("item_hash"),
                t.c.first_seen,
            )
        found: dict[str, Any] = {}
        for start in range(0, len(keys), _CHUNK):
            chunk = list(keys[start : start + _CHUNK])
            query = sa.select(*columns).where(m.c.feed_id == feed_id, m.c.key.in_(chunk))
            if full:
                query = query.join(t, t.c.id == m.c.item_id)
            found.update({row.key: row for row in conn.execute(query)})
        return found

    def _stories(
        self, conn: Connection, feed_id: int, stories: Sequence[Story]
    ) -> list[tuple[int, Story]]:
        """Items other feeds brought that may be one of these stories (same GUID, canonical
        link or words); bot.identity.match_story decides. Items this feed already carries
        are not candidates: within a feed, the item key alone decides."""
        m, t = schema.item_feeds, schema.items
        mine = sa.select(m.c.item_id).where(m.c.feed_id == feed_id)
        found: dict[int, Story] = {}
        for start in range(0, len(stories), _CHUNK):
            chunk = stories[start : start + _CHUNK]
            guids = sorted({"guid:" + s.guid for s in chunk if s.guid})
            links = sorted({s.link for s in chunk if s.link})
            hashes = sorted({s.text_hash for s in chunk if s.text_hash})
            by_guid = sa.select(m.c.item_id).where(m.c.key.in_(guids))
            query = sa.select(t.c.id, t.c.guid, t.c.story_link, t.c.story_hash).where(
                t.c.merged_into.is_(None),
                sa.or_(t.c.id.in_(by_guid), t.c.story_link.in_(links), t.c.story_hash.in_(hashes)),
                t.c.id.not_in(mine),
            )
            for row in conn.execute(query):
                found[row.id] = Story(story_guid(row.guid), row.story_link, row.story_hash)
        return list(found.items())

    def _write_items(
        self,
        conn: Connection,
        feed: Feed,
        writes: Sequence[ItemWrite],
        *,
        facts: Mapping[str, Facts] | None,
        now: datetime,
    ) -> tuple[list[StoredItem], list[StoredItem], int]:
        """Apply planned item writes (bot.decide.plan_items): insert the new, update the
        changed (keeping the previous hash), refresh what legitimately moves on the unchanged
        (comment count, image). Facts of new and changed items come from `facts`; an item
        without them is stored with its facts missing (None: no extraction was asked for).

        An item new to this feed that another feed already brought (bot.identity.same_story)
        is not inserted again: it is recorded as carried by this feed too, and is neither
        new nor updated (it was delivered when it first came)."""
        t, m = schema.items, schema.item_feeds
        existing = self._known(conn, feed.id, [w.item.key for w in writes], full=True)
        if any(w.item.key not in existing for w in writes):
            _story_lock(conn)  # before any row is written: no lock is held while waiting
        inserts: list[tuple[ItemWrite, Extraction | None, dict[str, Any]]] = []
        updated: list[StoredItem] = []
        changes: list[dict[str, Any]] = []
        seen: list[dict[str, Any]] = []
        copies: list[dict[str, Any]] = []  # this feed's copy changed: its hash in item_feeds
        for write in writes:
            item, row = write.item, existing.get(write.item.key)
            if row is not None and write.change is not ItemChange.UNCHANGED:
                if row.content_hash != write.content_hash:
                    copies.append({"k": item.key, "h": write.content_hash})
                if write.content_hash in (row.content_hash, row.item_hash):
                    # no edit: another feed brought these words first (or a stale "new")
                    write = replace(write, change=ItemChange.UNCHANGED)
            if write.change is ItemChange.UNCHANGED and row is not None:
                seen.append(
                    {
                        "row_id": row.id,
                        "comments_count": item.comments_count,
                        "image_url": item.image_url,
                        "image_credit": item.image_credit,
                    }
                )
                continue
            got = None if facts is None else facts.get(item.key, _NOT_EXTRACTED)
            extraction = got if isinstance(got, Extraction) else None
            values = _item_values(item) | _facts_values(got) | {"content_hash": write.content_hash}
            if row is None:
                inserts.append((write, extraction, values))
                continue
            changes.append(
                values
                | {"row_id": row.id, "previous_content_hash": row.item_hash, "changed_at": now}
            )
            updated.append(
                _stored(
                    row.id,
                    feed.key,
                    item,
                    write.content_hash,
                    row.item_hash,
                    row.first_seen,
                    now,
                    extraction,
                )
            )
        # One statement per kind of write, executed for many rows: building and compiling a
        # statement per item cost more than the insert itself.
        # (the SET clause of an executemany update is the columns its rows carry)
        refresh = t.update().where(t.c.id == sa.bindparam("row_id")).values(last_seen=now)
        if changes:  # the search index is given the old words before they go
            index.unindex(conn, [c["row_id"] for c in changes])
        for rows_of_a_kind in (seen, changes):
            if rows_of_a_kind:
                # in id order: two feeds' writers touching the same items never deadlock
                conn.execute(refresh, sorted(rows_of_a_kind, key=lambda r: int(r["row_id"])))
        if copies:
            conn.execute(
                m.update()
                .where(m.c.feed_id == feed.id, m.c.key == sa.bindparam("k"))
                .values(content_hash=sa.bindparam("h")),
                copies,
            )
        new, joined = self._insert_items(conn, feed, inserts, now=now)
        index.index(conn, new + updated)  # a joined story was indexed when it first came
        return new, updated, len(seen) + joined

    def _insert_items(
        self,
        conn: Connection,
        feed: Feed,
        inserts: Sequence[tuple[ItemWrite, Extraction | None, dict[str, Any]]],
        *,
        now: datetime,
    ) -> tuple[list[StoredItem], int]:
        """Insert the items new to this feed: a story another feed brought is joined (a row in
        item_feeds), the rest inserted. Returns the inserted and how many were joined."""
        if not inserts:
            return [], 0
        t, m = schema.items, schema.item_feeds
        stories = [
            story_of(w.item.guid, w.item.link, w.item.title, w.item.text) for w, *_ in inserts
        ]
        candidates = self._stories(conn, feed.id, stories)
        joins: list[dict[str, Any]] = []
        fresh: list[tuple[ItemWrite, Extraction | None, dict[str, Any], Story]] = []
        for (write, extraction, values), story in zip(inserts, stories, strict=True):
            match = match_story(story, candidates) if candidates else None
            if match is None:
                fresh.append((write, extraction, values, story))
            else:
                joins.append({"item_id": match, "key": write.item.key, "h": write.content_hash})
        memberships = [
            {
                "feed_id": feed.id,
                "key": j["key"],
                "item_id": j["item_id"],
                "content_hash": j["h"],
                "first_seen": now,
            }
            for j in joins
        ]
        new: list[StoredItem] = []
        if fresh:
            fixed = {
                "feed_id": feed.id,
                "previous_content_hash": None,
                "first_seen": now,
                "last_seen": now,
                "changed_at": None,
            }
            rows = [
                values | fixed | {"story_link": story.link, "story_hash": story.text_hash}
                for _, _, values, story in fresh
            ]
            ids = conn.execute(
                t.insert().returning(t.c.id, sort_by_parameter_order=True), rows
            ).scalars()
            for (write, extraction, *_), pk in zip(fresh, ids, strict=True):
                memberships.append(
                    {
                        "feed_id": feed.id,
                        "key": write.item.key,
                        "item_id": pk,
                        "content_hash": write.content_hash,
                        "first_seen": now,
                    }
                )
                stored = _stored(
                    pk, feed.key, write.item, write.content_hash, None, now, now, extraction
                )
                new.append(replace(stored, feed_keys=(feed.key,)))
        conn.execute(m.insert(), memberships)
        return new, len(joins)

    def store_facts(self, facts: Sequence[tuple[int, Facts]]) -> None:
        """Replace the stored facts of items by id (reextract), in one transaction; an item
        whose extraction failed again keeps its facts marked missing, with the new reason."""
        t = schema.items
        with self._write() as conn:
            ids = [item_id for item_id, _ in facts]
            index.unindex(conn, ids)
            for item_id, extraction in facts:
                values = _facts_values(extraction)
                conn.execute(t.update().where(t.c.id == item_id).values(**values))
            index.reindex(conn, ids)

    # -- reads --------------------------------------------------------------------------

    def items_first_seen(
        self, start: datetime, end: datetime, feed_keys: set[str] | None = None
    ) -> list[StoredItem]:
        """Items first brought by these feeds (None: any) in [start, end), newest first; an
        item two of them carried counts once, from the first of them (its `first_seen` is
        that time: a story a second feed brings later is not new to a reader of both)."""
        t, m, f = schema.items, schema.item_feeds, schema.feeds
        seen = sa.func.min(m.c.first_seen).label("seen")
        # the items some of these feeds brought in the period (an index range), then the
        # first time any of them did: not in the period if it was before
        recent = sa.select(m.c.item_id).where(m.c.first_seen >= start, m.c.first_seen < end)
        firsts = sa.select(m.c.item_id, seen).group_by(m.c.item_id)
        if feed_keys is not None:
            ids = sa.select(f.c.id).where(f.c.key.in_(sorted(feed_keys)))
            recent = recent.where(m.c.feed_id.in_(ids))
            firsts = firsts.where(m.c.feed_id.in_(ids))
        firsts = firsts.where(m.c.item_id.in_(recent))
        sub = firsts.subquery()
        query = (
            sa.select(t, f.c.key.label("feed_key"), sub.c.seen)
            .join(sub, sub.c.item_id == t.c.id)
            .join(f, f.c.id == t.c.feed_id)
            .where(sub.c.seen >= start, sub.c.seen < end)
            .order_by(t.c.published.desc().nulls_last(), t.c.id.desc())
        )
        with self._read() as conn:
            rows = list(conn.execute(query))
            found = [replace(_row_to_stored(r), first_seen=r.seen) for r in rows]
            return self._with_feeds(conn, found)

    def items(
        self, limit: int | None = None, feed_key: str | None = None, *, facts_missing: bool = False
    ) -> list[StoredItem]:
        """Items newest first by publication date (undated ones last, by first sight); with
        `feed_key`, those that feed carried (first or not); with `facts_missing`, only those
        stored without facts (see bot.decide.MissingFacts). Each story once."""
        t, m, f = schema.items, schema.item_feeds, schema.feeds
        query = (
            sa.select(t, f.c.key.label("feed_key"))
            .join(f, f.c.id == t.c.feed_id)
            .where(t.c.merged_into.is_(None))
            .order_by(t.c.published.desc().nulls_last(), t.c.first_seen.desc(), t.c.id.desc())
        )
        if feed_key is not None:
            carried = sa.select(m.c.item_id).join(f, f.c.id == m.c.feed_id)
            query = query.where(t.c.id.in_(carried.where(f.c.key == feed_key)))
        if facts_missing:
            query = query.where(t.c.facts_error.is_not(None))
        if limit is not None:
            query = query.limit(limit)
        with self._read() as conn:
            return self._with_feeds(conn, [_row_to_stored(row) for row in conn.execute(query)])

    def items_by_id(self, ids: Sequence[int]) -> list[StoredItem]:
        t, f = schema.items, schema.feeds
        query = (
            sa.select(t, f.c.key.label("feed_key"))
            .join(f, f.c.id == t.c.feed_id)
            .where(t.c.id.in_(list(ids)))
            .order_by(t.c.id)
        )
        with self._read() as conn:
            return self._with_feeds(conn, [_row_to_stored(row) for row in conn.execute(query)])

    def item_page(self, item_id: int) -> ItemDetail | None:
        """The item with this id and the feeds that carry it (the same GUID), in one indexed
        statement; the item's HTML is not read."""
        # one statement needs no transaction: in autocommit PostgreSQL is spared the BEGIN and
        # COMMIT round trips (a third of the page's time there, bench/web.py)
        try:
            with self.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                rows = conn.execute(_item_page_query(), {"item_id": item_id}).all()
        except sa.exc.OperationalError as exc:
            raise ArchiveError(
                f"cannot read the archive at {redact(self.url)}: {_first_line(exc)}"
            ) from exc
        row = next((r for r in rows if r.id == item_id), None)
        if row is None:
            return None
        item = Item(**{name: getattr(row, name) for name in _PAGE_COLUMNS})
        facts = extraction_from_json(row.facts) if row.facts else None
        stored = StoredItem(
            id=row.id,
            feed_key=row.feed_key,
            item=item,
            content_hash=row.content_hash,
            previous_content_hash=row.previous_content_hash,
            first_seen=row.first_seen,
            last_seen=row.last_seen,
            extraction=facts,
            merged_into=row.merged_into,
        )
        feeds = {
            r.carrier_id: Feed(**{n: getattr(r, f"carrier_{n}") for n in _FEED_FIELDS})
            for r in rows
        }
        return ItemDetail(stored=stored, feeds=tuple(feeds.values()))

    def find(self, guid: str) -> list[StoredItem]:
        """Items whose GUID (or link, for items without one) matches, compared normalised, in
        any feed that carried them; a row folded into another story (migration 0011) is
        found too, with `merged_into` set."""
        wanted = normalise_url(guid) or guid.strip()
        t, m, f = schema.items, schema.item_feeds, schema.feeds
        keys = [f"guid:{wanted}", f"link:{wanted}"]
        carried = sa.select(m.c.item_id).where(m.c.key.in_(keys))
        query = (
            sa.select(t, f.c.key.label("feed_key"))
            .join(f, f.c.id == t.c.feed_id)
            .where(sa.or_(t.c.key.in_(keys), t.c.guid == guid.strip(), t.c.id.in_(carried)))
            .order_by(t.c.id)
        )
        with self._read() as conn:
            return self._with_feeds(conn, [_row_to_stored(row) for row in conn.execute(query)])

    def _with_feeds(self, conn: Connection, found: list[StoredItem]) -> list[StoredItem]:
        """The items with every feed that carried them (`feed_keys`, first first)."""
        m, f = schema.item_feeds, schema.feeds
        carried: dict[int, list[str]] = {}
        ids = sorted({s.id for s in found})
        for start in range(0, len(ids), _CHUNK):
            query = (
                sa.select(m.c.item_id, f.c.key)
                .join(f, f.c.id == m.c.feed_id)
                .where(m.c.item_id.in_(ids[start : start + _CHUNK]))
                .order_by(m.c.item_id, m.c.first_seen, f.c.key)
            )
            for row in conn.execute(query):
                keys = carried.setdefault(row.item_id, [])
                if row.key not in keys:
                    keys.append(row.key)
        return [replace(s, feed_keys=tuple(carried.get(s.id, ()) or (s.feed_key,))) for s in found]

    def feeds(self) -> list[Feed]:
        with self._read() as conn:
            return [_feed(r) for r in conn.execute(sa.select(schema.feeds).order_by("key"))]

    def counts(self) -> dict[str, int]:
        """Row counts per table: a cheap fingerprint for tests and `status`."""
        with self._read() as conn:
            return {
                table.name: conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()
                for table in (schema.feeds, schema.items, schema.fetch_log)
            }
