"""The outbox's rules, as a table: what each Outcome makes of a delivery (no database)."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta, timezone

import pytest

from bot.deliver.decide import GIVE_UP_AFTER, RETRY_MAX, RETRY_MIN, decide
from bot.models import (
    Dead,
    Delivery,
    DeliveryResult,
    DeliveryState,
    Outcome,
    Retry,
    Sent,
    Unknown,
)

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
S = DeliveryState


def _delivery(attempts: int = 1, age: timedelta = timedelta(minutes=5)) -> Delivery:
    return Delivery(
        id=7,
        key="digest:weekly:x:a@example.org",
        subscription="weekly",
        recipient="a@example.org",
        period_start=NOW - timedelta(days=7),
        period_end=NOW - age,
        state=S.SENDING,
        attempts=attempts,
    )


# outcome, attempts, period age → state, retry after (seconds: low, high) or None, uncertain
TABLE: list[tuple[Outcome, int, timedelta, DeliveryState, tuple[float, float] | None, bool]] = [
    (Sent("<id@example.org>"), 1, timedelta(0), S.SENT, None, False),
    (Dead("smtp h:25: 550 no such user"), 1, timedelta(0), S.DEAD, None, False),
    (Retry("smtp h:25: 451 later"), 1, timedelta(0), S.FAILED, (RETRY_MIN, 72.0), False),
    (Retry("slack: HTTP 503"), 4, timedelta(0), S.FAILED, (384.0, 576.0), False),
    (Retry("slack: HTTP 503"), 40, timedelta(0), S.FAILED, (0.8 * RETRY_MAX, RETRY_MAX), False),
    (Retry("slack: HTTP 429", after=900.0), 1, timedelta(0), S.FAILED, (900.0, 900.0), False),
    (Retry("slack: HTTP 429", after=1e9), 1, timedelta(0), S.FAILED, (RETRY_MAX, RETRY_MAX), False),
    (Unknown("webhook: no answer"), 1, timedelta(0), S.UNKNOWN, (RETRY_MIN, 72.0), True),
    (Retry("smtp h:25: 451 later"), 9, GIVE_UP_AFTER, S.DEAD, None, False),
    (Unknown("webhook: no answer"), 9, GIVE_UP_AFTER, S.DEAD, None, True),
]


@pytest.mark.parametrize(("outcome", "attempts", "age", "state", "after", "uncertain"), TABLE)
def test_outcome_becomes_state(
    outcome: Outcome,
    attempts: int,
    age: timedelta,
    state: DeliveryState,
    after: tuple[float, float] | None,
    uncertain: bool,
) -> None:
    result = DeliveryResult(7, outcome, parts_sent=2)
    finish = decide(_delivery(attempts, age), result, now=NOW, rng=random.Random(1))
    assert (finish.delivery_id, finish.state, finish.uncertain) == (7, state, uncertain)
    assert finish.parts_sent == 2
    if after is None:
        assert finish.retry_at is None
    else:
        assert finish.retry_at is not None
        wait = (finish.retry_at - NOW).total_seconds()
        assert after[0] <= wait <= after[1]
    if state is S.SENT:
        assert finish.message_id == "<id@example.org>" and finish.error is None
    else:
        assert finish.error and finish.error.split(":")[0] in repr(outcome)


def test_giving_up_says_so() -> None:
    finish = decide(_delivery(9, GIVE_UP_AFTER), DeliveryResult(7, Retry("x: 451")), now=NOW)
    assert finish.error == "x: 451 (gave up: still failing 3 days on)"


def test_when_next_states_the_retry_time_or_that_it_gave_up() -> None:
    from bot.deliver.decide import when_next

    at = datetime(2026, 12, 1, 22, 40, 31, tzinfo=timezone(timedelta(hours=1)))
    assert when_next(S.FAILED, attempts=1, retry_at=at) == "retry at 2026-12-01 21:40 UTC"
    assert when_next(S.UNKNOWN, attempts=1, retry_at=at) == "retry at 2026-12-01 21:40 UTC"
    assert when_next(S.DEAD, attempts=5, retry_at=None) == "dead: gave up after 5 attempts"
    assert when_next(S.DEAD, attempts=1, retry_at=None) == "dead: gave up after 1 attempt"
    assert when_next(S.SENT, attempts=1, retry_at=None) == ""
