"""Polling state: which feeds are due, who holds them, and what each poll found."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from bot import schema
from bot.models import (
    AddResult,
    FeedState,
    FetchResult,
    ParsedFeed,
)

if TYPE_CHECKING:
    pass

from bot.archive.base import _CHUNK, Extractor, _feed, _lease, _strip_nul
from bot.archive.items import ItemsMixin


class PollingMixin(ItemsMixin):
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

    # -- workers --------------------------------------------------------------------------

    def heartbeat(self, name: str, version: str, started_at: datetime) -> None:
        """Record that this worker completed a tick now."""
        w = schema.workers
        now = datetime.now(UTC)
        with self._write() as conn:
            done = conn.execute(
                w.update().where(w.c.name == name).values(last_tick_at=now, version=version)
            )
            if not done.rowcount:
                conn.execute(
                    w.insert().values(
                        name=name, version=version, started_at=started_at, last_tick_at=now
                    )
                )

    def last_tick(self) -> datetime | None:
        """When any worker last completed a tick."""
        w = schema.workers
        with self._read() as conn:
            last: datetime | None = conn.execute(sa.select(sa.func.max(w.c.last_tick_at))).scalar()
        return last

    def ping(self) -> None:
        """Raise ArchiveError unless the database answers."""
        with self._read() as conn:
            conn.execute(sa.text("SELECT 1"))

    def workers(self) -> list[dict[str, Any]]:
        """Every worker that ever ticked, the most recent first."""
        w = schema.workers
        with self._read() as conn:
            rows = conn.execute(sa.select(w).order_by(w.c.last_tick_at.desc()))
            return [dict(r._mapping) for r in rows]
