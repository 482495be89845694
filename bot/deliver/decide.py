"""Pure: what the outbox records for one send's outcome. No database and no clock of its own,
so the rules are table-tested (tests/test_deliver_decide.py); archive.finish_deliveries
applies what this decides.

  Sent                     sent, with its Message-ID (e-mail)
  Retry(after) / Unknown   failed / unknown, tried again after the backoff (1 min doubling
                           to 6 h, ±20% jitter) or the receiver's Retry-After if longer;
                           dead once the period ended GIVE_UP_AFTER ago
  Dead(reason)             dead at once
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from bot.models import Dead, Delivery, DeliveryResult, DeliveryState, Finish, Retry, Sent, Unknown
from bot.retry import backoff

RETRY_MIN = 60.0
RETRY_MAX = 6 * 3600.0
GIVE_UP_AFTER = timedelta(days=3)


def decide(
    delivery: Delivery, result: DeliveryResult, *, now: datetime, rng: random.Random | None = None
) -> Finish:
    """The row `delivery` becomes after `result`. `now` must not be earlier than the clock:
    a retry time already past would be claimed again in the same cycle."""
    outcome = result.outcome

    def finish(
        state: DeliveryState,
        *,
        error: str | None = None,
        retry_at: datetime | None = None,
        message_id: str | None = None,
        uncertain: bool = False,
    ) -> Finish:
        # every outcome records the claim it belongs to and how many parts went
        return Finish(
            delivery.id,
            state,
            delivery.attempts,
            error=error,
            retry_at=retry_at,
            message_id=message_id,
            uncertain=uncertain,
            parts_sent=result.parts_sent,
        )

    if isinstance(outcome, Sent):
        return finish(DeliveryState.SENT, message_id=outcome.message_id)
    if isinstance(outcome, Dead):
        return finish(DeliveryState.DEAD, error=outcome.reason)
    unknown = isinstance(outcome, Unknown)
    if now - delivery.period_end >= GIVE_UP_AFTER:
        error = f"{outcome.error} (gave up: still failing {GIVE_UP_AFTER.days} days on)"
        return finish(DeliveryState.DEAD, error=error, uncertain=unknown)
    delay = backoff(max(1, delivery.attempts), low=RETRY_MIN, high=RETRY_MAX, rng=rng)
    if isinstance(outcome, Retry) and outcome.after is not None:
        delay = max(delay, min(outcome.after, RETRY_MAX))
    return finish(
        DeliveryState.UNKNOWN if unknown else DeliveryState.FAILED,
        error=outcome.error,
        retry_at=now + timedelta(seconds=delay),
        uncertain=unknown,
    )


def when_next(state: DeliveryState, *, attempts: int, retry_at: datetime | None) -> str:
    """What happens next to a delivery that did not go, for the operator: "retry at
    2026-12-01 21:40 UTC", "dead: gave up after 5 attempts"; "" for the others."""
    if state is DeliveryState.DEAD:
        return f"dead: gave up after {attempts} attempt{'s' if attempts != 1 else ''}"
    if state in (DeliveryState.FAILED, DeliveryState.UNKNOWN) and retry_at is not None:
        return "retry at " + retry_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return ""
