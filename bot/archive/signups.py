"""The web site's own rows: confirmed sign-ups to public subscriptions, the confirmation
e-mails waiting for the worker, and rate-limit hits (kept here, not in a process: several
web processes serve one archive)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from bot import schema
from bot.archive.base import RATE_LOCK, ArchiveBase, _lease, _release, _strip_nul
from bot.models import MailState, Signup, SignupMail

# Hits older than this are deleted as new ones come: no limit looks further back.
RATE_HORIZON = timedelta(days=1)


class SignupsMixin(ArchiveBase):
    # -- sign-ups ---------------------------------------------------------------------------

    def confirm_signup(self, sub_id: str, address: str, key: str) -> bool:
        """Record a confirmed sign-up (`key`: bot.addresses' comparison key); an earlier
        unsubscribe of the address is taken back, as the address just asked again and
        proved it reads the mailbox. False if it was confirmed already."""
        s, u = schema.signups, schema.unsubscribes
        now = datetime.now(UTC)
        try:
            with self._write() as conn:
                conn.execute(
                    u.delete().where(u.c.subscription == sub_id, u.c.address == address.lower())
                )
                found = conn.execute(
                    sa.select(s.c.id).where(s.c.subscription == sub_id, s.c.address_key == key)
                ).first()
                if found is not None:
                    return False
                conn.execute(
                    s.insert().values(
                        subscription=sub_id, address=address, address_key=key, confirmed_at=now
                    )
                )
        except sa.exc.IntegrityError:  # the same link confirmed at the same moment elsewhere
            return False
        return True

    def signups(self, sub_id: str | None = None) -> list[Signup]:
        """Confirmed sign-ups (of one subscription), oldest first."""
        s = schema.signups
        query = sa.select(s).order_by(s.c.subscription, s.c.id)
        if sub_id is not None:
            query = query.where(s.c.subscription == sub_id)
        with self._read() as conn:
            return [
                Signup(subscription=r.subscription, address=r.address, confirmed_at=r.confirmed_at)
                for r in conn.execute(query)
            ]

    def signups_of(self, key: str) -> list[Signup]:
        """The subscriptions one address (by its comparison key) signed up to."""
        s = schema.signups
        query = sa.select(s).where(s.c.address_key == key).order_by(s.c.subscription)
        with self._read() as conn:
            return [
                Signup(subscription=r.subscription, address=r.address, confirmed_at=r.confirmed_at)
                for r in conn.execute(query)
            ]

    # -- confirmation e-mails -------------------------------------------------------------

    def queue_signup_mail(self, sub_id: str, recipient: str) -> None:
        with self._write() as conn:
            conn.execute(
                schema.signup_mails.insert().values(
                    subscription=sub_id,
                    recipient=recipient,
                    state=MailState.PENDING.value,
                    attempts=0,
                    created_at=datetime.now(UTC),
                )
            )

    def claim_signup_mails(self, lease_seconds: float, *, limit: int = 100) -> list[SignupMail]:
        """Lease the confirmation e-mails that are due (pending and due, or sending with
        an expired lease: a crashed worker's)."""
        now = datetime.now(UTC)
        m = schema.signup_mails
        due = sa.or_(
            sa.and_(
                m.c.state == MailState.PENDING.value,
                sa.or_(m.c.next_attempt_at.is_(None), m.c.next_attempt_at <= now),
            ),
            sa.and_(m.c.state == MailState.SENDING.value, m.c.lease_until < now),
        )
        query = sa.select(m).where(due).order_by(m.c.id).limit(limit)
        values = {
            "state": MailState.SENDING.value,
            "lease_until": now + timedelta(seconds=lease_seconds),
            "attempts": m.c.attempts + 1,
        }
        with self._write() as conn:
            rows = _lease(conn, m, query, values)
        return [
            SignupMail(
                id=r.id,
                subscription=r.subscription,
                recipient=r.recipient,
                attempts=r.attempts + 1,
                created_at=r.created_at,
            )
            for r in rows
        ]

    def finish_signup_mail(
        self, mail_id: int, state: MailState, *, error: str = "", retry_at: datetime | None = None
    ) -> None:
        m = schema.signup_mails
        values: dict[str, object] = {
            "state": state.value,
            "lease_until": None,
            "next_attempt_at": retry_at,
            "last_error": _strip_nul(error)[:2000] or None,
        }
        if state is MailState.SENT:
            values["sent_at"] = datetime.now(UTC)
        with self._write() as conn:
            conn.execute(m.update().where(m.c.id == mail_id).values(**values))

    def release_signup_mails(self, claims: Sequence[tuple[int, int]]) -> int:
        """Give back claimed confirmation e-mails that were never tried, as (id, attempts
        of the claim): pending again, no lease, the claim's attempt not counted. A row
        claimed again since (another attempt count) is left alone. Returns how many."""
        if not claims:
            return 0
        with self._write() as conn:
            return _release(
                conn,
                schema.signup_mails,
                claims,
                sending=MailState.SENDING.value,
                pending=MailState.PENDING.value,
            )

    def signup_mail_counts(self) -> dict[str, int]:
        """Confirmation e-mails per state."""
        m = schema.signup_mails
        query = sa.select(m.c.state, sa.func.count()).group_by(m.c.state)
        with self._read() as conn:
            return {state: int(n) for state, n in conn.execute(query)}

    # -- rate limits ------------------------------------------------------------------------

    def rate_hit(self, buckets: Sequence[tuple[str, float]]) -> list[int]:
        """Record one hit in each (bucket, window seconds); how many hits each bucket holds
        within its window, this one included. Old hits are deleted on the way."""
        now = datetime.now(UTC)
        r = schema.rate_hits
        with self._write() as conn:
            if conn.dialect.name == "postgresql":  # see base.RATE_LOCK
                conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": RATE_LOCK})
            conn.execute(r.delete().where(r.c.at < now - RATE_HORIZON))
            conn.execute(r.insert(), [{"bucket": b, "at": now} for b, _ in buckets])
            return [self._count(conn, b, now - timedelta(seconds=w)) for b, w in buckets]

    def rate_count(self, buckets: Sequence[tuple[str, float]]) -> list[int]:
        """How many hits each (bucket, window seconds) holds within its window."""
        now = datetime.now(UTC)
        with self._read() as conn:
            return [self._count(conn, b, now - timedelta(seconds=w)) for b, w in buckets]

    @staticmethod
    def _count(conn: sa.Connection, bucket: str, since: datetime) -> int:
        r = schema.rate_hits
        query = sa.select(sa.func.count()).where(r.c.bucket == bucket, r.c.at >= since)
        return int(conn.execute(query).scalar() or 0)
