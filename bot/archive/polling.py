"""Polling state: which feeds are due, who holds them, and what each poll found."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from bot import schema
from bot.archive.base import _feed, _lease, _strip_nul
from bot.archive.items import ItemsMixin
from bot.decide import Facts, PollDecision, Redirect, RedirectVerdict
from bot.models import AddResult, FeedState


@dataclass(frozen=True)
class FeedStatus:
    """A feed's polling state and its last fetch's count of new items, for `status`."""

    key: str
    url: str  # where it is polled now
    configured_url: str
    redirect_url: str | None = None  # a permanent redirect being checked
    redirect_count: int = 0
    title: str = ""
    last_polled_at: datetime | None = None
    last_status: int | None = None
    new: int | None = None  # items the last fetch added (None: never fetched)
    error_count: int = 0
    last_error: str | None = None
    next_poll_at: datetime | None = None
    healthy: bool = True

    @classmethod
    def never_polled(cls, key: str, url: str) -> FeedStatus:
        """A configured feed no poll has seen yet (it has no row in the archive)."""
        return cls(key=key, url=url, configured_url=url)


@dataclass(frozen=True)
class Event:
    """Something the admin is told about (a feed turned unhealthy or recovered, a delivery
    given up); `delivered_at` once the admin channel took it."""

    id: int
    at: datetime
    kind: str
    message: str
    feed_id: int | None = None
    delivered_at: datetime | None = None


class PollingMixin(ItemsMixin):
    # -- polling ----------------------------------------------------------------------

    def sync_feeds(self, configured: Sequence[tuple[str, str, str]]) -> None:
        """Make sure each configured feed (key, url, title) has a row. A URL changed in the
        config wins over the stored one (and forgets its validators and redirect); a stored URL
        moved by an adopted permanent redirect stays while the config says what it said."""
        now = datetime.now(UTC)
        f = schema.feeds
        with self._write() as conn:
            columns = (f.c.key, f.c.url, f.c.configured_url, f.c.title)
            rows = {r.key: r for r in conn.execute(sa.select(*columns))}
            for key, url, title in configured:
                row = rows.get(key)
                if row is None:
                    conn.execute(
                        f.insert().values(
                            key=key,
                            url=url,
                            configured_url=url,
                            title=title,
                            link="",
                            description="",
                            language="",
                            created_at=now,
                        )
                    )
                elif (row.configured_url or row.url) != url:
                    conn.execute(
                        f.update()
                        .where(f.c.key == key)
                        .values(
                            url=url,
                            configured_url=url,
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
        *,
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
        """Stored content hashes of these item keys (bot.decide.item_keys): the poll decides
        with them which items are new or changed, and extracts facts only for those."""
        with self._read() as conn:
            return {k: r.content_hash for k, r in self._known(conn, feed_id, keys).items()}

    def record_poll(
        self, decision: PollDecision, facts: Mapping[str, Facts] | None = None
    ) -> AddResult:
        """Apply one poll's decision (bot.decide) in ONE transaction: its items (all or none)
        with their facts (an item missing from `facts` is stored with its facts missing), the
        feed's validators, schedule, health and redirect, the fetch log row and any health
        event. Releases the lease."""
        now = datetime.now(UTC)
        f = schema.feeds
        d = decision
        with self._write() as conn:
            row = conn.execute(sa.select(f).where(f.c.id == d.feed_id)).one()
            feed = _feed(row)
            n, u, same = self._write_items(conn, feed, d.items, facts=facts or {}, now=now)
            values: dict[str, Any] = {
                "lease_until": None,
                "lease_owner": None,
                "last_polled_at": now,
                "last_status": d.http_status,
                "next_poll_at": d.next_poll_at,
                "etag": d.etag,
                "last_modified": d.last_modified,
                "error_count": d.health.error_count,
                "last_error": d.health.last_error,
                "healthy": d.health.healthy,
            } | _redirect_columns(d.redirect)
            if d.error is None:
                values["last_success_at"] = now
            if d.feed_info is not None and (d.feed_info.title or d.feed_info.link):
                # the config's title first; otherwise what the feed says, when it says it
                values |= {
                    "title": row.title or _strip_nul(d.feed_info.title),
                    "link": _strip_nul(d.feed_info.link) or row.link,
                    "description": _strip_nul(d.feed_info.description) or row.description,
                }
            conn.execute(f.update().where(f.c.id == feed.id).values(**values))
            if d.health.event is not None:
                self._event(
                    conn,
                    at=now,
                    kind=d.health.change.value,
                    feed_id=feed.id,
                    message=d.health.event,
                )
            conn.execute(
                schema.fetch_log.insert().values(
                    feed_id=feed.id,
                    at=now,
                    source=_strip_nul(d.source),
                    status=d.status.value,
                    http_status=d.http_status,
                    new=len(n),
                    updated=len(u),
                    unchanged=same,
                    error=d.health.last_error if d.error else None,
                )
            )
        return AddResult(
            source=d.source, feed_key=feed.key, new=tuple(n), updated=tuple(u), unchanged=same
        )

    def record_not_modified(self, decisions: Sequence[PollDecision]) -> None:
        """Many healthy feeds' plain 304s (decisions with `quiet` set) in one transaction,
        with two prepared statements: the common case of a cycle, where a transaction and a
        statement build per feed would cost more than the fetch. Anything else (errors,
        redirects, recovery) goes through record_poll."""
        if not decisions:
            return
        assert all(d.quiet for d in decisions), "only quiet 304s are batched"
        now = datetime.now(UTC)
        f, log = schema.feeds, schema.fetch_log
        update = (
            f.update()
            .where(f.c.id == sa.bindparam("fid"))
            .values(
                lease_until=None,
                lease_owner=None,
                last_polled_at=now,
                last_status=sa.bindparam("status"),
                next_poll_at=sa.bindparam("next_at"),
                error_count=0,
                last_error=None,
                last_success_at=now,
                etag=sa.bindparam("etag"),
                last_modified=sa.bindparam("modified"),
            )
        )
        with self._write() as conn:
            conn.execute(
                update,
                [
                    {
                        "fid": d.feed_id,
                        "status": d.http_status,
                        "next_at": d.next_poll_at,
                        "etag": d.etag,
                        "modified": d.last_modified,
                    }
                    for d in decisions
                ],
            )
            conn.execute(
                log.insert(),
                [
                    {
                        "feed_id": d.feed_id,
                        "at": now,
                        "source": _strip_nul(d.source),
                        "status": d.status.value,
                        "http_status": d.http_status,
                        "new": 0,
                        "updated": 0,
                        "unchanged": 0,
                        "error": None,
                    }
                    for d in decisions
                ],
            )

    @staticmethod
    def _event(conn: Connection, *, at: datetime, kind: str, feed_id: int, message: str) -> None:
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

    def poll_soon(self, key: str) -> bool:
        """Make the feed due now (the admin's "poll now"): the next worker tick polls it.
        False if there is no such feed."""
        f = schema.feeds
        with self._write() as conn:
            done = conn.execute(
                f.update().where(f.c.key == key).values(next_poll_at=datetime.now(UTC))
            )
            return bool(done.rowcount)

    def feed_status(self, *, keys: Sequence[str] | None = None) -> list[FeedStatus]:
        """One per feed (only those in `keys`, when given) with its polling state and the
        last fetch's counts, for `status`."""
        f, log = schema.feeds, schema.fetch_log
        query = sa.select(f).order_by(f.c.key)
        if keys is not None:
            query = query.where(f.c.key.in_(list(keys)))
        with self._read() as conn:
            feeds = list(conn.execute(query))
            out = []
            for r in feeds:
                last = conn.execute(
                    sa.select(log).where(log.c.feed_id == r.id).order_by(log.c.id.desc()).limit(1)
                ).first()
                out.append(
                    FeedStatus(
                        key=r.key,
                        url=r.url,
                        configured_url=r.configured_url or r.url,
                        redirect_url=r.redirect_url,
                        redirect_count=r.redirect_count,
                        title=r.title,
                        last_polled_at=r.last_polled_at,
                        last_status=r.last_status,
                        new=last.new if last else None,
                        error_count=r.error_count,
                        last_error=r.last_error,
                        next_poll_at=r.next_poll_at,
                        healthy=bool(r.healthy),
                    )
                )
        return out

    def events(self, undelivered_only: bool = False) -> list[Event]:
        e = schema.events
        query = sa.select(e).order_by(e.c.id)
        if undelivered_only:
            query = query.where(e.c.delivered_at.is_(None))
        with self._read() as conn:
            return [
                Event(
                    id=r.id,
                    at=r.at,
                    kind=r.kind,
                    message=r.message,
                    feed_id=r.feed_id,
                    delivered_at=r.delivered_at,
                )
                for r in conn.execute(query)
            ]

    # -- workers --------------------------------------------------------------------------

    def heartbeat(
        self,
        name: str,
        version: str,
        started_at: datetime,
        *,
        config_version: str | None = None,
        config_loaded_at: datetime | None = None,
    ) -> None:
        """Record that this worker completed a tick now, running this config version."""
        w = schema.workers
        now = datetime.now(UTC)
        values = {
            "last_tick_at": now,
            "version": version,
            "config_version": config_version,
            "config_loaded_at": config_loaded_at,
        }
        with self._write() as conn:
            done = conn.execute(w.update().where(w.c.name == name).values(**values))
            if not done.rowcount:
                conn.execute(w.insert().values(name=name, started_at=started_at, **values))

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

    def workers(self, *, since: datetime | None = None) -> list[dict[str, Any]]:
        """Every worker that ticked (since `since`, when given), the most recent first."""
        w = schema.workers
        query = sa.select(w).order_by(w.c.last_tick_at.desc())
        if since is not None:
            query = query.where(w.c.last_tick_at >= since)
        with self._read() as conn:
            rows = conn.execute(query)
            return [dict(r._mapping) for r in rows]


def _redirect_columns(redirect: Redirect) -> dict[str, Any]:
    """The feed columns that hold a decision's redirect verdict."""
    if redirect.verdict is RedirectVerdict.ADOPTED:
        return {"url": redirect.target, "redirect_url": None, "redirect_count": 0}
    if redirect.verdict is RedirectVerdict.NONE:
        return {"redirect_url": None, "redirect_count": 0}
    return {"redirect_url": redirect.target, "redirect_count": redirect.good_polls}
