"""Items: the write that returns only what is new or updated, facts, and the reads."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import fields, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from bot import schema
from bot.errors import ArchiveError
from bot.identity import content_hash, normalise_url
from bot.models import (
    AddResult,
    Extraction,
    FeedInfo,
    Item,
    ParsedFeed,
    StoredItem,
)

if TYPE_CHECKING:
    pass

from bot.archive.base import (
    _CHUNK,
    ArchiveBase,
    Extractor,
    Feed,
    _clean,
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
                for parsed, feed_key in documents:
                    feed = self._ensure_feed(conn, parsed.feed, feed_key, now)
                    n, u, same = self._add_items(conn, feed, parsed, now, extractor)
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
                            status="ok",
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

    def _add_items(
        self,
        conn: Connection,
        feed: Feed,
        parsed: ParsedFeed,
        now: datetime,
        extractor: Extractor | None,
    ) -> tuple[list[StoredItem], list[StoredItem], int]:
        t = schema.items
        batch: dict[str, Item] = {}
        for item in map(_clean, parsed.items):  # a key twice in one batch: the later entry wins
            batch[item.key] = item
        existing: dict[str, Any] = {}
        keys = list(batch)
        for start in range(0, len(keys), _CHUNK):
            chunk = keys[start : start + _CHUNK]
            # the columns compared and kept, not the stored words (tens of KB an item)
            columns = (t.c.id, t.c.key, t.c.content_hash, t.c.first_seen)
            query = sa.select(*columns).where(t.c.feed_id == feed.id, t.c.key.in_(chunk))
            existing.update({row.key: row for row in conn.execute(query)})
        inserts: list[tuple[Item, str, Extraction | None, dict[str, Any]]] = []
        updated: list[StoredItem] = []
        changes: list[dict[str, Any]] = []
        seen: list[dict[str, Any]] = []
        for key, item in batch.items():
            digest = content_hash(item.title, item.summary, item.text)
            row = existing.get(key)
            if row is not None and row.content_hash == digest:
                # Same words: refresh what legitimately moves (comment count, image) silently.
                seen.append(
                    {
                        "row_id": row.id,
                        "comments_count": item.comments_count,
                        "image_url": item.image_url,
                        "image_credit": item.image_credit,
                    }
                )
                continue
            facts = extractor(parsed, item) if extractor is not None else None
            values = _item_values(item) | _facts_values(facts) | {"content_hash": digest}
            if row is None:
                inserts.append((item, digest, facts, values))
                continue
            changes.append(
                values
                | {"row_id": row.id, "previous_content_hash": row.content_hash, "changed_at": now}
            )
            updated.append(
                _stored(
                    row.id, feed.key, item, digest, row.content_hash, row.first_seen, now, facts
                )
            )
        # One statement per kind of write, executed for many rows: building and compiling a
        # statement per item cost more than the insert itself.
        # (the SET clause of an executemany update is the columns its rows carry)
        refresh = t.update().where(t.c.id == sa.bindparam("row_id")).values(last_seen=now)
        for rows_of_a_kind in (seen, changes):
            if rows_of_a_kind:
                conn.execute(refresh, rows_of_a_kind)
        new: list[StoredItem] = []
        if inserts:
            fixed = {
                "feed_id": feed.id,
                "previous_content_hash": None,
                "first_seen": now,
                "last_seen": now,
                "changed_at": None,
            }
            rows = [values | fixed for *_, values in inserts]
            ids = conn.execute(
                t.insert().returning(t.c.id, sort_by_parameter_order=True), rows
            ).scalars()
            for (item, digest, facts, _), pk in zip(inserts, ids, strict=True):
                new.append(_stored(pk, feed.key, item, digest, None, now, now, facts))
        return new, updated, len(seen)

    def store_facts(self, facts: Sequence[tuple[int, Extraction]]) -> None:
        """Replace the stored facts of items by id (reextract), in one transaction."""
        t = schema.items
        with self._write() as conn:
            for item_id, extraction in facts:
                values = _facts_values(extraction)
                conn.execute(t.update().where(t.c.id == item_id).values(**values))

    # -- reads --------------------------------------------------------------------------

    def items_first_seen(
        self, start: datetime, end: datetime, feed_keys: set[str] | None = None
    ) -> list[StoredItem]:
        """Items first archived in [start, end), from these feeds (None: all), newest first."""
        t, f = schema.items, schema.feeds
        query = (
            sa.select(t, f.c.key.label("feed_key"))
            .join(f, f.c.id == t.c.feed_id)
            .where(t.c.first_seen >= start, t.c.first_seen < end)
            .order_by(t.c.published.desc().nulls_last(), t.c.id.desc())
        )
        if feed_keys is not None:
            query = query.where(f.c.key.in_(sorted(feed_keys)))
        with self._read() as conn:
            return [_row_to_stored(row) for row in conn.execute(query)]

    def items(self, limit: int | None = None, feed_key: str | None = None) -> list[StoredItem]:
        """Items newest first by publication date (undated ones last, by first sight)."""
        t, f = schema.items, schema.feeds
        query = (
            sa.select(t, f.c.key.label("feed_key"))
            .join(f, f.c.id == t.c.feed_id)
            .order_by(t.c.published.desc().nulls_last(), t.c.first_seen.desc(), t.c.id.desc())
        )
        if feed_key is not None:
            query = query.where(f.c.key == feed_key)
        if limit is not None:
            query = query.limit(limit)
        with self._read() as conn:
            return [_row_to_stored(row) for row in conn.execute(query)]

    def items_by_id(self, ids: Sequence[int]) -> list[StoredItem]:
        t, f = schema.items, schema.feeds
        query = (
            sa.select(t, f.c.key.label("feed_key"))
            .join(f, f.c.id == t.c.feed_id)
            .where(t.c.id.in_(list(ids)))
            .order_by(t.c.id)
        )
        with self._read() as conn:
            return [_row_to_stored(row) for row in conn.execute(query)]

    def find(self, guid: str) -> list[StoredItem]:
        """Items whose GUID (or link, for items without one) matches, compared normalised."""
        wanted = normalise_url(guid) or guid.strip()
        t, f = schema.items, schema.feeds
        keys = [f"guid:{wanted}", f"link:{wanted}"]
        query = (
            sa.select(t, f.c.key.label("feed_key"))
            .join(f, f.c.id == t.c.feed_id)
            .where(sa.or_(t.c.key.in_(keys), t.c.guid == guid.strip()))
            .order_by(t.c.id)
        )
        with self._read() as conn:
            return [_row_to_stored(row) for row in conn.execute(query)]

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
