"""Backoff with jitter and Retry-After: the one place both the poller and the outbox ask
"when may I try again?" (HTTP semantics: RFC 9110 §10.2.3 allows seconds or an HTTP-date)."""

from __future__ import annotations

import random
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime


def backoff(attempt: int, *, low: float, high: float, rng: random.Random | None = None) -> float:
    """Seconds to wait before try `attempt + 1` after `attempt` failures (attempt >= 1):
    doubling from `low`, capped at `high`, with ±20% jitter so that many failures that
    happened together (one host down for a thousand feeds) do not retry in step."""
    base: float = min(high, low * 2.0 ** max(0, min(attempt - 1, 62)))
    jitter: float = (rng or random).uniform(0.8, 1.2)
    return min(high, max(low, base * jitter))


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds the server asked us to wait: `Retry-After: 120` or an HTTP-date; None when
    absent or unreadable (the caller's own backoff applies). Never negative."""
    if value is None:
        return None
    value = value.strip()
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:  # an HTTP-date is always GMT; a bare asctime date lacks the zone
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())
