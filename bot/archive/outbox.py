"""Subscriptions and the delivery outbox."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from bot import schema
from bot.models import (
    Delivery,
    DeliveryResult,
)

if TYPE_CHECKING:
    pass

from bot.archive.base import ArchiveBase, _lease, _strip_nul


class OutboxMixin(ArchiveBase):
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
