"""Subscriptions and the delivery outbox."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from bot import schema
from bot.archive.base import ArchiveBase, _lease, _release, _strip_nul
from bot.models import WAITING, Delivery, DeliveryState, Finish

S = DeliveryState


class OutboxMixin(ArchiveBase):
    # -- subscriptions and the outbox -----------------------------------------------------

    def subscription_states(
        self,
        ids: Sequence[str],
        *,
        backfill: Mapping[str, Collection[str] | None] | None = None,
        create: bool = True,
    ) -> dict[str, tuple[datetime, datetime | None]]:
        """(first period's start, last_period_end) per subscription, creating rows for new
        ones: a subscription exists from the first time any command loads it, and its first
        period starts then. One in `backfill` (its feed keys, None: every feed) starts at the
        oldest item those feeds hold, so its first digest holds the archive. Without
        `create` (a preview), new ones are answered as they would be created, not stored."""
        now = datetime.now(UTC)
        s, m, f = schema.subscriptions, schema.item_feeds, schema.feeds
        unstored: dict[str, tuple[datetime, datetime | None]] = {}
        with self._write() if create else self._read() as conn:
            rows = {r.id: r for r in conn.execute(sa.select(s).where(s.c.id.in_(list(ids))))}
            for sub_id in ids:
                if sub_id in rows:
                    continue
                created = now
                if backfill is not None and sub_id in backfill:
                    keys = backfill[sub_id]
                    oldest = sa.select(sa.func.min(m.c.first_seen)).join(f, f.c.id == m.c.feed_id)
                    if keys is not None:
                        oldest = oldest.where(f.c.key.in_(sorted(keys)))
                    created = min(now, conn.execute(oldest).scalar() or now)
                if not create:
                    unstored[sub_id] = (created, None)
                    continue
                conn.execute(s.insert().values(id=sub_id, created_at=created))
            rows = {r.id: r for r in conn.execute(sa.select(s).where(s.c.id.in_(list(ids))))}
        return {k: (r.created_at, r.last_period_end) for k, r in rows.items()} | unstored

    def queue_period(
        self,
        sub_id: str,
        recipients: Sequence[str],
        start: datetime,
        end: datetime,
        items: Sequence[int] | None = None,
    ) -> int:
        """Queue the period's messages and move the subscription's last_period_end to `end`,
        in one transaction. A digest: one row per recipient; `each` mode (`items` given): one
        row per item and recipient. Rows already queued are not queued again (the idempotency
        key), nor are addresses that unsubscribed. Returns how many rows were new."""
        now = datetime.now(UTC)
        d, s, u = schema.deliveries, schema.subscriptions, schema.unsubscribes
        created = 0
        with self._write() as conn:
            gone = {
                r.address
                for r in conn.execute(sa.select(u.c.address).where(u.c.subscription == sub_id))
            }
            targets = [r for r in recipients if r.lower() not in gone]
            rows = {
                delivery_key(sub_id, end, recipient, item_id): (recipient, item_id)
                for item_id in ([None] if items is None else items)
                for recipient in targets
            }
            keys = list(rows)
            for n in range(0, len(keys), 500):  # bound the IN list
                chunk = keys[n : n + 500]
                for (key,) in conn.execute(sa.select(d.c.key).where(d.c.key.in_(chunk))):
                    rows.pop(key)
            if rows:
                conn.execute(
                    d.insert(),
                    [
                        {
                            "key": key,
                            "subscription": sub_id,
                            "recipient": recipient,
                            "period_start": start,
                            "period_end": end,
                            "item_id": item_id,
                            "state": S.PENDING.value,
                            "attempts": 0,
                            "created_at": now,
                        }
                        for key, (recipient, item_id) in rows.items()
                    ],
                )
            created = len(rows)
            conn.execute(s.update().where(s.c.id == sub_id).values(last_period_end=end))
        return created

    def claim_deliveries(
        self,
        owner: str,
        lease_seconds: float,
        *,
        subscription: str | None = None,
        skip: Collection[str] = (),
        limit: int | None = None,
    ) -> list[Delivery]:
        """Lease the deliveries that are due: pending; failed or unknown whose retry time
        came; and sending ones whose lease expired. Those were interrupted mid-send (a
        crashed worker's), so they may have arrived: they are marked uncertain and sent again
        with the same idempotency key (Message-ID, X-Reportbot-Delivery). Subscriptions in
        `skip` (a precondition failed: see hold_deliveries) are left alone."""
        now = datetime.now(UTC)
        d = schema.deliveries
        expired = sa.and_(d.c.state == S.SENDING.value, d.c.lease_until < now)
        retry = [S.FAILED.value, S.UNKNOWN.value]
        due = sa.or_(
            d.c.state == S.PENDING.value,
            sa.and_(d.c.state.in_(retry), d.c.next_attempt_at <= now),
            expired,
        )
        query = sa.select(d).where(due).order_by(d.c.id)
        if subscription is not None:
            query = query.where(d.c.subscription == subscription)
        if skip:
            query = query.where(d.c.subscription.not_in(sorted(skip)))
            expired = sa.and_(expired, d.c.subscription.not_in(sorted(skip)))
        if limit is not None:
            query = query.limit(limit)
        with self._write() as conn:
            conn.execute(d.update().where(expired).values(uncertain=True))
            lease = {
                "state": S.SENDING.value,
                "lease_until": now + timedelta(seconds=lease_seconds),
                "attempts": d.c.attempts + 1,
            }
            rows = _lease(conn, d, query, lease)
        return [_delivery(r, state=S.SENDING, attempts=r.attempts + 1) for r in rows]

    def hold_deliveries(self, problems: Mapping[str, str]) -> dict[str, int]:
        """A subscription's precondition failed (a secret is unset, a template is broken):
        its waiting rows keep their state and get the problem as their error, so
        `deliveries` shows why nothing goes. Returns how many rows wait so, per subscription
        that has any."""
        d = schema.deliveries
        waiting = [S.PENDING.value, S.FAILED.value, S.UNKNOWN.value]
        held: dict[str, int] = {}
        with self._write() as conn:
            for sub_id, problem in problems.items():
                done = conn.execute(
                    d.update()
                    .where(d.c.subscription == sub_id, d.c.state.in_(waiting))
                    .values(last_error=_strip_nul(problem)[:2000])
                )
                if done.rowcount:
                    held[sub_id] = done.rowcount
        return held

    def finish_deliveries(self, finished: Sequence[Finish]) -> int:
        """Record what bot.deliver.decide decided, in one transaction: sent (only now, after
        it succeeded), failed or unknown with a retry time, or dead. Chat deliveries also
        record how many of their parts went out.

        Only a row still `sending` under the claim the outcome belongs to is written (the
        attempt count is the fencing token): when a lease expired mid-send and another
        worker claimed the row, that worker's outcome is the one that counts, and a late
        one from the first must not turn its `sent` back into `failed` (a resend). Returns
        how many outcomes came too late to record."""
        now = datetime.now(UTC)
        d = schema.deliveries
        # one executemany per shape of update (a statement per row was a tenth of a batch)
        shapes: dict[tuple[str, ...], list[dict[str, Any]]] = {}
        for finish in finished:
            values = _finish_values(finish, now) | {"lease_until": None}
            shapes.setdefault(tuple(sorted(values)), []).append(
                {f"v_{k}": v for k, v in values.items()}
                | {"v_id": finish.delivery_id, "v_attempt": finish.attempt}
            )
        written = 0
        with self._write() as conn:
            for columns, rows in shapes.items():
                update = d.update().where(
                    d.c.id == sa.bindparam("v_id"),
                    d.c.state == S.SENDING.value,
                    d.c.attempts == sa.bindparam("v_attempt"),
                )
                # sqlite3 and psycopg 3 both sum an executemany's rowcount
                written += conn.execute(
                    update.values({c: sa.bindparam(f"v_{c}") for c in columns}), rows
                ).rowcount
        return len(finished) - written

    def release_deliveries(self, claims: Collection[Delivery]) -> int:
        """Give back claimed deliveries that were never tried (the send was interrupted
        before their turn): pending again, no lease, the claim's attempt not counted. Only
        rows still held under that claim are touched (see finish_deliveries). Returns how
        many were given back."""
        if not claims:
            return 0  # no write transaction for nothing (the usual case, every batch)
        pairs = [(c.id, c.attempts) for c in claims]
        with self._write() as conn:
            return _release(
                conn,
                schema.deliveries,
                pairs,
                sending=S.SENDING.value,
                pending=S.PENDING.value,
            )

    def cancel_delivery(self, delivery_id: int, reason: str) -> None:
        """Not to be sent after all (the address unsubscribed after it was queued)."""
        d = schema.deliveries
        with self._write() as conn:
            conn.execute(
                d.update()
                .where(d.c.id == delivery_id)
                .values(state=S.CANCELLED.value, lease_until=None, last_error=reason)
            )

    def deliveries(self, state: DeliveryState | None = None) -> list[Delivery]:
        d = schema.deliveries
        query = sa.select(d).order_by(d.c.id)
        if state is not None:
            query = query.where(d.c.state == DeliveryState(state).value)
        with self._read() as conn:
            return [_delivery(r) for r in conn.execute(query)]

    def retry_delivery(self, delivery_id: int) -> bool:
        """Make a pending, failed, unknown or dead delivery go with the next send; False if
        there is none (a pending one held by a failed precondition goes once it is fixed)."""
        d = schema.deliveries
        again = [S.PENDING.value, S.FAILED.value, S.UNKNOWN.value, S.DEAD.value]
        with self._write() as conn:
            done = conn.execute(
                d.update()
                .where(d.c.id == delivery_id, d.c.state.in_(again))
                .values(state=S.PENDING.value, next_attempt_at=None)
            )
            return bool(done.rowcount)

    def next_retry(self) -> datetime | None:
        """When the next failed or unknown delivery is tried again (None: none waits)."""
        d = schema.deliveries
        waiting = [S.FAILED.value, S.UNKNOWN.value]
        query = sa.select(sa.func.min(d.c.next_attempt_at)).where(d.c.state.in_(waiting))
        with self._read() as conn:
            found: datetime | None = conn.execute(query).scalar()
        return found

    def outbox_counts(self) -> dict[str, int]:
        """Deliveries per state."""
        d = schema.deliveries
        query = sa.select(d.c.state, sa.func.count()).group_by(d.c.state)
        with self._read() as conn:
            return {state: int(n) for state, n in conn.execute(query)}

    def oldest_waiting(self) -> datetime | None:
        """When the oldest delivery still waiting to go out was queued."""
        d = schema.deliveries
        waiting = d.c.state.in_([state.value for state in WAITING])
        with self._read() as conn:
            oldest: datetime | None = conn.execute(
                sa.select(sa.func.min(d.c.created_at)).where(waiting)
            ).scalar()
        return oldest

    # -- unsubscribes ---------------------------------------------------------------------

    def unsubscribe(self, sub_id: str, address: str, via: str) -> bool:
        """Stop sending this subscription to this address; False if it had already stopped.
        Queued messages to it are cancelled before they go out."""
        u = schema.unsubscribes
        address = address.strip().lower()
        with self._write() as conn:
            found = conn.execute(
                sa.select(u.c.address).where(u.c.subscription == sub_id, u.c.address == address)
            ).first()
            if found is not None:
                return False
            conn.execute(
                u.insert().values(
                    subscription=sub_id, address=address, at=datetime.now(UTC), via=via
                )
            )
        return True

    def resubscribe(self, sub_id: str, address: str) -> bool:
        u = schema.unsubscribes
        with self._write() as conn:
            done = conn.execute(
                u.delete().where(u.c.subscription == sub_id, u.c.address == address.strip().lower())
            )
            return bool(done.rowcount)

    def unsubscribed(self, sub_id: str | None = None) -> dict[str, set[str]]:
        """Addresses that asked to stop, per subscription."""
        u = schema.unsubscribes
        query = sa.select(u.c.subscription, u.c.address)
        if sub_id is not None:
            query = query.where(u.c.subscription == sub_id)
        out: dict[str, set[str]] = {}
        with self._read() as conn:
            for sub, address in conn.execute(query):
                out.setdefault(sub, set()).add(address)
        return out

    # -- admin events ---------------------------------------------------------------------

    def record_event(self, kind: str, message: str) -> None:
        with self._write() as conn:
            conn.execute(
                schema.events.insert().values(
                    at=datetime.now(UTC), kind=kind, message=_strip_nul(message)[:2000]
                )
            )

    def mark_events_delivered(self, ids: Sequence[int]) -> None:
        e = schema.events
        with self._write() as conn:
            conn.execute(
                e.update().where(e.c.id.in_(list(ids))).values(delivered_at=datetime.now(UTC))
            )


def delivery_key(
    sub_id: str, period_end: datetime, recipient: str, item_id: int | None = None
) -> str:
    """The idempotency key of one message: subscription + period (or item) + recipient."""
    if item_id is not None:
        return f"each:{sub_id}:{item_id}:{recipient.lower()}"
    return f"digest:{sub_id}:{period_end.astimezone(UTC).isoformat()}:{recipient.lower()}"


def _finish_values(finish: Finish, now: datetime) -> dict[str, Any]:
    values: dict[str, Any] = {"state": finish.state.value}
    if finish.state is S.SENT:
        values |= {"sent_at": now, "last_error": None, "message_id": finish.message_id}
    else:
        values["last_error"] = _strip_nul(finish.error or "")[:2000]
    if finish.retry_at is not None:
        values["next_attempt_at"] = finish.retry_at
    if finish.uncertain:
        values["uncertain"] = True
    if finish.parts_sent is not None:
        values["parts_sent"] = finish.parts_sent
    return values


def _delivery(row: Any, **changes: Any) -> Delivery:
    values = {
        "id": row.id,
        "key": row.key,
        "subscription": row.subscription,
        "recipient": row.recipient,
        "period_start": row.period_start,
        "period_end": row.period_end,
        "state": DeliveryState(row.state),
        "attempts": row.attempts,
        "last_error": row.last_error,
        "message_id": row.message_id,
        "item_id": row.item_id,
        "parts_sent": row.parts_sent,
        "uncertain": bool(row.uncertain),
        "next_attempt_at": row.next_attempt_at,
    }
    return Delivery(**(values | changes))
