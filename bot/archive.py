"""The archive: the only module that speaks SQL.

SQLite (the default) runs in WAL mode with a busy timeout, and every write transaction starts
with BEGIN IMMEDIATE: a deferred transaction that reads and then writes fails at once with
"database is locked" when another writer got there first, instead of waiting. PostgreSQL is
used when the URL says so.

`add` returns only what is new or updated; everything downstream works from that list.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, fields, replace
from datetime import UTC, datetime, timedelta
from importlib.resources import files
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from bot import schema

if TYPE_CHECKING:
    from alembic.config import Config as AlembicConfig
from bot.errors import ArchiveError
from bot.identity import content_hash, normalise_url
from bot.models import (
    AddResult,
    Delivery,
    DeliveryResult,
    Extraction,
    FeedInfo,
    FeedState,
    FetchResult,
    Item,
    ParsedFeed,
    StoredItem,
    extraction_from_json,
    extraction_to_json,
)

# Called for each new or updated item while it is archived, in the same transaction.
Extractor = Callable[[ParsedFeed, Item], Extraction]

DEFAULT_URL = "sqlite:///state/reportbot.db"
_BUSY_TIMEOUT_MS = 30_000
_CHUNK = 500  # keys per IN (...) query: well under SQLite's bound-parameter limit


@dataclass(frozen=True)
class Feed:
    """A feed as the archive knows it."""

    id: int
    key: str
    title: str
    link: str
    url: str
    description: str = ""
    language: str = ""

    def info(self) -> FeedInfo:
        return FeedInfo(
            title=self.title,
            link=self.link,
            description=self.description,
            url=self.url,
            language=self.language,
        )


def engine_for(url: str) -> Engine:
    """An Engine for `url`, with SQLite set up for one writer and many readers."""
    url = _normalise_db_url(url)
    try:
        sa_url = sa.make_url(url)
    except sa.exc.ArgumentError as exc:
        raise ArchiveError(f"database URL {url!r} is not valid: {exc}") from exc
    if sa_url.get_backend_name() != "sqlite":
        return sa.create_engine(sa_url, pool_pre_ping=True)
    if sa_url.database and sa_url.database != ":memory:":
        Path(sa_url.database).parent.mkdir(parents=True, exist_ok=True)
    engine = sa.create_engine(sa_url, connect_args={"timeout": _BUSY_TIMEOUT_MS / 1000})

    @sa.event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event issue BEGIN itself (pysqlite would defer it).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        # In WAL mode NORMAL never corrupts the file; a power cut can lose the last commits,
        # which the next poll fetches again. FULL would fsync every feed's transaction.
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute(f"PRAGMA busy_timeout={_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @sa.event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        mode = "IMMEDIATE" if conn.get_execution_options().get("write") else "DEFERRED"
        conn.exec_driver_sql(f"BEGIN {mode}")

    return engine


def _normalise_db_url(url: str) -> str:
    # "postgresql://" and "postgres://" (Heroku style) mean psycopg 3, the driver we install.
    return re.sub(r"^postgres(?:ql)?://", "postgresql+psycopg://", url.strip())


def redact(url: str) -> str:
    """The URL with any password hidden, for messages."""
    try:
        return sa.make_url(_normalise_db_url(url)).render_as_string(hide_password=True)
    except sa.exc.ArgumentError:
        return "<invalid database URL>"


class Archive:
    """A handle on one archive database."""

    def __init__(self, url: str = DEFAULT_URL) -> None:
        self.url = url
        self.engine = engine_for(url)

    def close(self) -> None:
        self.engine.dispose()

    # -- schema -------------------------------------------------------------------------

    def upgrade(self) -> None:
        """Bring the schema to the newest migration (idempotent)."""
        from alembic import command  # imported here: a worker needs it once, at start

        cfg = _alembic_config()
        try:
            with self._write(migrating=True) as conn:
                cfg.attributes["connection"] = conn
                command.upgrade(cfg, "head")
        except sa.exc.OperationalError as exc:
            raise ArchiveError(
                f"cannot open the archive at {redact(self.url)}: {_first_line(exc)}; "
                "check the database URL and that the server is running"
            ) from exc

    def is_current(self) -> bool:
        """True when the database is at the newest migration."""
        from alembic.runtime.migration import MigrationContext
        from alembic.script import ScriptDirectory

        head = ScriptDirectory.from_config(_alembic_config()).get_current_head()
        with self.engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision() == head

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
            query = sa.select(t).where(t.c.feed_id == feed.id, t.c.key.in_(chunk))
            existing.update({row.key: row for row in conn.execute(query)})
        new: list[StoredItem] = []
        updated: list[StoredItem] = []
        unchanged = 0
        for key, item in batch.items():
            digest = content_hash(item.title, item.summary, item.text)
            row = existing.get(key)
            if row is not None and row.content_hash == digest:
                # Same words: refresh what legitimately moves (comment count, image) silently.
                conn.execute(
                    t.update()
                    .where(t.c.id == row.id)
                    .values(
                        last_seen=now,
                        comments_count=item.comments_count,
                        image_url=item.image_url,
                        image_credit=item.image_credit,
                    )
                )
                unchanged += 1
                continue
            facts = extractor(parsed, item) if extractor is not None else None
            values = _item_values(item) | _facts_values(facts) | {"content_hash": digest}
            if row is None:
                values |= {
                    "feed_id": feed.id,
                    "previous_content_hash": None,
                    "first_seen": now,
                    "last_seen": now,
                    "changed_at": None,
                }
                pk = conn.execute(t.insert().values(**values)).inserted_primary_key
                assert pk is not None
                new.append(_stored(pk[0], feed.key, item, digest, None, now, now, facts))
            else:
                values |= {
                    "previous_content_hash": row.content_hash,
                    "last_seen": now,
                    "changed_at": now,
                }
                conn.execute(t.update().where(t.c.id == row.id).values(**values))
                updated.append(
                    _stored(
                        row.id, feed.key, item, digest, row.content_hash, row.first_seen, now, facts
                    )
                )
        return new, updated, unchanged

    def store_facts(self, facts: Sequence[tuple[int, Extraction]]) -> None:
        """Replace the stored facts of items by id (reextract), in one transaction."""
        t = schema.items
        with self._write() as conn:
            for item_id, extraction in facts:
                values = _facts_values(extraction)
                conn.execute(t.update().where(t.c.id == item_id).values(**values))

    # -- polling ----------------------------------------------------------------------

    def sync_feeds(self, configured: Sequence[tuple[str, str, str]]) -> None:
        """Make sure each configured feed (key, url, title) has a row; a changed URL in the
        config wins over the stored one (and forgets its validators and redirect)."""
        now = datetime.now(UTC)
        f = schema.feeds
        with self._write() as conn:
            rows = {r.key: r for r in conn.execute(sa.select(f.c.key, f.c.url, f.c.title))}
            for key, url, title in configured:
                row = rows.get(key)
                if row is None:
                    conn.execute(
                        f.insert().values(
                            key=key,
                            url=url,
                            title=title,
                            link="",
                            description="",
                            language="",
                            created_at=now,
                        )
                    )
                elif row.url != url:
                    conn.execute(
                        f.update()
                        .where(f.c.key == key)
                        .values(
                            url=url,
                            etag=None,
                            last_modified=None,
                            redirect_url=None,
                            redirect_count=0,
                            next_poll_at=None,
                        )
                    )
                elif title and row.title != title:
                    conn.execute(f.update().where(f.c.key == key).values(title=title))

    def claim_due(
        self,
        keys: Sequence[str],
        owner: str,
        lease_seconds: float,
        now: datetime | None = None,
        limit: int = 1000,
        force: bool = False,
    ) -> list[tuple[FeedState, str]]:
        """Lease the due feeds among `keys` to `owner`: (state, key) pairs. Two workers never
        hold one feed: PostgreSQL skips rows another transaction has locked, SQLite has one
        writer at a time, and a lease left by a dead worker expires after `lease_seconds`.
        `force` claims every unleased feed whether due or not (reportbot poll --feed)."""
        now = now or datetime.now(UTC)
        f = schema.feeds
        due = sa.or_(f.c.next_poll_at.is_(None), f.c.next_poll_at <= now)
        free = sa.or_(f.c.lease_until.is_(None), f.c.lease_until < now)
        query = (
            sa.select(f)
            .where(f.c.key.in_(list(keys)), free, sa.true() if force else due)
            .order_by(f.c.next_poll_at.asc().nulls_first(), f.c.id)
            .limit(limit)
        )
        claimed: list[tuple[FeedState, str]] = []
        with self._write() as conn:
            lease = {"lease_until": now + timedelta(seconds=lease_seconds), "lease_owner": owner}
            rows = _lease(conn, f, query, lease)
            for r in rows:
                state = FeedState(
                    id=r.id,
                    key=r.key,
                    url=r.url,
                    etag=r.etag,
                    last_modified=r.last_modified,
                    error_count=r.error_count,
                    healthy=r.healthy,
                    redirect_url=r.redirect_url,
                    redirect_count=r.redirect_count,
                    interval=3600.0,
                )
                claimed.append((state, r.key))
        return claimed

    def known_hashes(self, feed_id: int, keys: Sequence[str]) -> dict[str, str]:
        """Stored content hashes of these item keys: lets the caller extract facts only for
        items that are new or changed, before the write."""
        t = schema.items
        found: dict[str, str] = {}
        with self._read() as conn:
            for start in range(0, len(keys), _CHUNK):
                chunk = list(keys[start : start + _CHUNK])
                query = sa.select(t.c.key, t.c.content_hash).where(
                    t.c.feed_id == feed_id, t.c.key.in_(chunk)
                )
                found.update({r.key: r.content_hash for r in conn.execute(query)})
        return found

    def record_poll(
        self,
        state: FeedState,
        fetched: FetchResult,
        parsed: ParsedFeed | None,
        extractor: Extractor | None,
        next_poll_at: datetime,
        error: str | None,
        unhealthy_after: int = 10,
    ) -> AddResult:
        """One poll's outcome in ONE transaction: its items (all or none), the feed's
        validators, schedule and health, the fetch log row, and health events. Releases the
        lease."""
        now = datetime.now(UTC)
        f = schema.feeds
        result = AddResult(source=fetched.url, feed_key=state.key)
        with self._write() as conn:
            row = conn.execute(sa.select(f).where(f.c.id == state.id)).one()
            feed = _feed(row)
            if parsed is not None and error is None:
                n, u, same = self._add_items(conn, feed, parsed, now, extractor)
                result = AddResult(
                    source=fetched.url,
                    feed_key=feed.key,
                    new=tuple(n),
                    updated=tuple(u),
                    unchanged=same,
                )
                info = parsed.feed
                if info.title or info.link:
                    conn.execute(
                        f.update()
                        .where(f.c.id == feed.id)
                        .values(
                            title=row.title or _strip_nul(info.title),
                            link=_strip_nul(info.link) or row.link,
                            description=_strip_nul(info.description) or row.description,
                        )
                    )
            values: dict[str, Any] = {
                "lease_until": None,
                "lease_owner": None,
                "last_polled_at": now,
                "last_status": fetched.status,
                "next_poll_at": next_poll_at,
            }
            if error is None:
                values |= {
                    "error_count": 0,
                    "last_error": None,
                    "last_success_at": now,
                    "healthy": True,
                }
                if not fetched.not_modified:
                    # a 200 without validators clears them; a 304 keeps what we had
                    values |= {"etag": fetched.etag, "last_modified": fetched.last_modified}
                elif fetched.etag or fetched.last_modified:
                    values |= {
                        "etag": fetched.etag or row.etag,
                        "last_modified": fetched.last_modified or row.last_modified,
                    }
                if not row.healthy:
                    self._event(
                        conn,
                        now,
                        "feed_recovered",
                        feed.id,
                        f"feed {feed.key} works again after {row.error_count} failures",
                    )
            else:
                count = row.error_count + 1
                values |= {"error_count": count, "last_error": _strip_nul(error)[:2000]}
                if count >= unhealthy_after and row.healthy:
                    values["healthy"] = False
                    self._event(
                        conn,
                        now,
                        "feed_unhealthy",
                        feed.id,
                        f"feed {feed.key} failed {count} times in a row: {error}",
                    )
            values |= self._redirect_values(row, fetched)
            conn.execute(f.update().where(f.c.id == feed.id).values(**values))
            conn.execute(
                schema.fetch_log.insert().values(
                    feed_id=feed.id,
                    at=now,
                    source=_strip_nul(fetched.url),
                    status="error" if error else ("not_modified" if fetched.not_modified else "ok"),
                    http_status=fetched.status,
                    new=len(result.new),
                    updated=len(result.updated),
                    unchanged=result.unchanged,
                    error=_strip_nul(error)[:2000] if error else None,
                )
            )
        return result

    def record_not_modified(self, polls: Sequence[tuple[FeedState, FetchResult, datetime]]) -> None:
        """Many healthy feeds' 304s in one transaction, with two prepared statements: the
        common case of a cycle, where a transaction and a statement build per feed would
        cost more than the fetch. Anything else (errors, redirects, recovery) goes through
        record_poll."""
        if not polls:
            return
        now = datetime.now(UTC)
        f, log = schema.feeds, schema.fetch_log
        update = (
            f.update()
            .where(f.c.id == sa.bindparam("fid"))
            .values(
                lease_until=None,
                lease_owner=None,
                last_polled_at=now,
                last_status=304,
                next_poll_at=sa.bindparam("next_at"),
                error_count=0,
                last_error=None,
                last_success_at=now,
                redirect_url=None,
                redirect_count=0,
                etag=sa.func.coalesce(sa.bindparam("etag"), f.c.etag),
                last_modified=sa.func.coalesce(sa.bindparam("modified"), f.c.last_modified),
            )
        )
        with self._write() as conn:
            conn.execute(
                update,
                [
                    {"fid": s.id, "next_at": at, "etag": r.etag, "modified": r.last_modified}
                    for s, r, at in polls
                ],
            )
            conn.execute(
                log.insert(),
                [
                    {
                        "feed_id": s.id,
                        "at": now,
                        "source": _strip_nul(r.url),
                        "status": "not_modified",
                        "http_status": 304,
                        "new": 0,
                        "updated": 0,
                        "unchanged": 0,
                        "error": None,
                    }
                    for s, r, _ in polls
                ],
            )

    @staticmethod
    def _redirect_values(row: Any, fetched: FetchResult) -> dict[str, Any]:
        """A permanent redirect seen on 3 consecutive polls moves the feed's URL."""
        target = fetched.permanent_redirect
        if not target:
            return {"redirect_url": None, "redirect_count": 0}
        count = row.redirect_count + 1 if row.redirect_url == target else 1
        if count >= 3:
            return {"url": target, "redirect_url": None, "redirect_count": 0}
        return {"redirect_url": target, "redirect_count": count}

    @staticmethod
    def _event(conn: Connection, at: datetime, kind: str, feed_id: int, message: str) -> None:
        conn.execute(
            schema.events.insert().values(at=at, kind=kind, feed_id=feed_id, message=message)
        )

    def release(self, feed_id: int, owner: str) -> None:
        """Give a lease back without recording a poll (shutdown before the fetch ran)."""
        f = schema.feeds
        with self._write() as conn:
            conn.execute(
                f.update()
                .where(f.c.id == feed_id, f.c.lease_owner == owner)
                .values(lease_until=None, lease_owner=None)
            )

    def feed_status(self) -> list[dict[str, Any]]:
        """One row per feed with its polling state and the last fetch's counts, for `status`."""
        f, log = schema.feeds, schema.fetch_log
        with self._read() as conn:
            feeds = list(conn.execute(sa.select(f).order_by(f.c.key)))
            out = []
            for r in feeds:
                last = conn.execute(
                    sa.select(log).where(log.c.feed_id == r.id).order_by(log.c.id.desc()).limit(1)
                ).first()
                out.append(
                    {
                        "key": r.key,
                        "url": r.url,
                        "title": r.title,
                        "last_polled_at": r.last_polled_at,
                        "last_status": r.last_status,
                        "new": last.new if last else None,
                        "error_count": r.error_count,
                        "last_error": r.last_error,
                        "next_poll_at": r.next_poll_at,
                        "healthy": r.healthy,
                    }
                )
        return out

    def events(self, undelivered_only: bool = False) -> list[dict[str, Any]]:
        e = schema.events
        query = sa.select(e).order_by(e.c.id)
        if undelivered_only:
            query = query.where(e.c.delivered_at.is_(None))
        with self._read() as conn:
            return [dict(r._mapping) for r in conn.execute(query)]

    # -- subscriptions and the outbox -----------------------------------------------------

    def subscription_states(
        self, ids: Sequence[str], backfill: Sequence[str] = ()
    ) -> dict[str, tuple[datetime, datetime | None]]:
        """(created_at, last_period_end) per subscription, creating rows for new ones: a
        subscription exists from the first time any command loads it. One with backfill set
        is created "at the epoch", so its first digest holds the whole archive."""
        now = datetime.now(UTC)
        s = schema.subscriptions
        with self._write() as conn:
            rows = {r.id: r for r in conn.execute(sa.select(s).where(s.c.id.in_(list(ids))))}
            for sub_id in ids:
                if sub_id not in rows:
                    created = datetime(1970, 1, 1, tzinfo=UTC) if sub_id in backfill else now
                    conn.execute(s.insert().values(id=sub_id, created_at=created))
            rows = {r.id: r for r in conn.execute(sa.select(s).where(s.c.id.in_(list(ids))))}
        return {k: (r.created_at, r.last_period_end) for k, r in rows.items()}

    def queue_period(
        self,
        sub_id: str,
        recipients: Sequence[str],
        start: datetime,
        end: datetime,
    ) -> int:
        """Queue one delivery per recipient for the period and move the subscription's
        last_period_end to `end`, in one transaction; a period already queued is not queued
        again (the idempotency key). Returns how many rows were new."""
        now = datetime.now(UTC)
        d, s = schema.deliveries, schema.subscriptions
        created = 0
        with self._write() as conn:
            for recipient in recipients:
                key = delivery_key(sub_id, end, recipient)
                exists = conn.execute(sa.select(d.c.id).where(d.c.key == key)).first()
                if exists is None:
                    conn.execute(
                        d.insert().values(
                            key=key,
                            subscription=sub_id,
                            recipient=recipient,
                            period_start=start,
                            period_end=end,
                            state="pending",
                            attempts=0,
                            created_at=now,
                        )
                    )
                    created += 1
            conn.execute(s.update().where(s.c.id == sub_id).values(last_period_end=end))
        return created

    def claim_deliveries(
        self, owner: str, lease_seconds: float, subscription: str | None = None
    ) -> list[Delivery]:
        """Lease the deliveries that are due: pending, failed whose retry time came, and
        sending ones whose lease expired (a crashed worker's: sent again, same Message-ID)."""
        now = datetime.now(UTC)
        d = schema.deliveries
        due = sa.or_(
            d.c.state == "pending",
            sa.and_(d.c.state == "failed", d.c.next_attempt_at <= now),
            sa.and_(d.c.state == "sending", d.c.lease_until < now),
        )
        query = sa.select(d).where(due).order_by(d.c.id)
        if subscription is not None:
            query = query.where(d.c.subscription == subscription)
        with self._write() as conn:
            lease = {
                "state": "sending",
                "lease_until": now + timedelta(seconds=lease_seconds),
                "attempts": d.c.attempts + 1,
            }
            rows = _lease(conn, d, query, lease)
        return [_delivery(r, state="sending", attempts=r.attempts + 1) for r in rows]

    def finish_delivery(self, result: DeliveryResult, retry_at: datetime | None) -> None:
        """Record a send: sent (only now, after it succeeded), failed with a retry time, or
        dead."""
        now = datetime.now(UTC)
        d = schema.deliveries
        if result.ok:
            values: dict[str, Any] = {
                "state": "sent",
                "sent_at": now,
                "last_error": None,
                "message_id": result.message_id,
            }
        elif result.retry and retry_at is not None:
            values = {
                "state": "failed",
                "next_attempt_at": retry_at,
                "last_error": _strip_nul(result.error or "")[:2000],
            }
        else:
            values = {"state": "dead", "last_error": _strip_nul(result.error or "")[:2000]}
        with self._write() as conn:
            conn.execute(
                d.update().where(d.c.id == result.delivery_id).values(lease_until=None, **values)
            )

    def deliveries(self, state: str | None = None) -> list[Delivery]:
        d = schema.deliveries
        query = sa.select(d).order_by(d.c.id)
        if state is not None:
            query = query.where(d.c.state == state)
        with self._read() as conn:
            return [_delivery(r) for r in conn.execute(query)]

    def retry_delivery(self, delivery_id: int) -> bool:
        """Make a failed or dead delivery pending again; False if there is no such row."""
        d = schema.deliveries
        with self._write() as conn:
            done = conn.execute(
                d.update()
                .where(d.c.id == delivery_id, d.c.state.in_(["failed", "dead"]))
                .values(state="pending", next_attempt_at=None)
            )
            return bool(done.rowcount)

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

    # -- transactions -------------------------------------------------------------------

    @contextmanager
    def _write(self, migrating: bool = False) -> Iterator[Connection]:
        with self.engine.connect() as conn:
            sqlite = conn.dialect.name == "sqlite"
            if migrating and sqlite:
                # SQLite ignores this pragma inside a transaction, so it goes first: a batch
                # migration that rebuilds a table must not cascade-delete what references it.
                conn.connection.driver_connection.execute("PRAGMA foreign_keys=OFF")  # type: ignore[union-attr]
            conn = conn.execution_options(write=True)
            try:
                with conn.begin():
                    yield conn
                    if migrating and sqlite:
                        broken = conn.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                        if broken:
                            raise ArchiveError(
                                f"migration left {len(broken)} broken references; rolled back"
                            )
            finally:
                if migrating and sqlite:
                    conn.connection.driver_connection.execute("PRAGMA foreign_keys=ON")  # type: ignore[union-attr]

    @contextmanager
    def _read(self) -> Iterator[Connection]:
        try:
            with self.engine.connect() as conn, conn.begin():
                yield conn
        except sa.exc.OperationalError as exc:
            raise ArchiveError(
                f"cannot read the archive at {redact(self.url)}: {_first_line(exc)}"
            ) from exc


def _alembic_config() -> AlembicConfig:
    from alembic.config import Config as AlembicConfig

    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(files("bot") / "migrations"))
    return cfg


_ITEM_COLUMNS = [f.name for f in fields(Item) if f.name != "key"] + ["key"]


def _item_values(item: Item) -> dict[str, Any]:
    return {name: getattr(item, name) for name in _ITEM_COLUMNS}


def _clean(item: Item) -> Item:
    """Strip NUL characters (PostgreSQL rejects them in text) from every text field."""
    changes: dict[str, Any] = {
        f.name: _strip_nul(value)
        for f in fields(Item)
        if isinstance(value := getattr(item, f.name), str) and "\x00" in value
    }
    return replace(item, **changes) if changes else item


def _strip_nul(value: str) -> str:
    return value.replace("\x00", "")


def _lease(conn: Connection, table: sa.Table, query: Any, values: dict[str, Any]) -> list[Any]:
    """Select due rows and mark them taken, in the caller's write transaction. PostgreSQL
    skips rows another worker has locked (FOR UPDATE SKIP LOCKED); SQLite has one writer."""
    if conn.dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    rows = list(conn.execute(query))
    if rows:
        conn.execute(table.update().where(table.c.id.in_([r.id for r in rows])).values(**values))
    return rows


def delivery_key(sub_id: str, period_end: datetime, recipient: str) -> str:
    """The idempotency key of one message: subscription + period + recipient."""
    return f"digest:{sub_id}:{period_end.astimezone(UTC).isoformat()}:{recipient.lower()}"


def _delivery(row: Any, **changes: Any) -> Delivery:
    values = {
        "id": row.id,
        "key": row.key,
        "subscription": row.subscription,
        "recipient": row.recipient,
        "period_start": row.period_start,
        "period_end": row.period_end,
        "state": row.state,
        "attempts": row.attempts,
        "last_error": row.last_error,
        "message_id": row.message_id,
    }
    return Delivery(**(values | changes))


def _facts_values(facts: Extraction | None) -> dict[str, Any]:
    if facts is None:
        return {"facts": None, "extractor_version": None}
    return {"facts": extraction_to_json(facts), "extractor_version": facts.version}


def _stored(
    pk: int,
    feed_key: str,
    item: Item,
    digest: str,
    previous: str | None,
    first_seen: datetime,
    last_seen: datetime,
    facts: Extraction | None = None,
) -> StoredItem:
    return StoredItem(
        id=pk,
        feed_key=feed_key,
        item=item,
        content_hash=digest,
        previous_content_hash=previous,
        first_seen=first_seen,
        last_seen=last_seen,
        extraction=facts,
    )


def _row_to_stored(row: Any) -> StoredItem:
    item = Item(**{name: getattr(row, name) for name in _ITEM_COLUMNS})
    facts = extraction_from_json(row.facts) if row.facts else None
    return _stored(
        row.id,
        row.feed_key,
        item,
        row.content_hash,
        row.previous_content_hash,
        row.first_seen,
        row.last_seen,
        facts,
    )


def _feed(row: Any) -> Feed:
    return Feed(
        id=row.id,
        key=row.key,
        title=row.title,
        link=row.link,
        url=row.url,
        description=row.description,
        language=row.language,
    )


def _slug(info: FeedInfo) -> str:
    base = normalise_url(info.link) or normalise_url(info.url) or info.title or "feed"
    base = re.sub(r"^www\.", "", base.lower())
    slug = re.sub(r"[^a-z0-9]+", "-", base).strip("-")
    return slug[:80].rstrip("-") or "feed"


def _unique_key(slug: str, taken: set[str]) -> str:
    key, n = slug, 2
    while key in taken:
        key, n = f"{slug}-{n}", n + 1
    return key


def _first_line(exc: BaseException) -> str:
    text = str(getattr(exc, "orig", None) or exc)
    return text.strip().splitlines()[0] if text.strip() else type(exc).__name__
