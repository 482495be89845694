"""The outbox's claim and finish on both databases: a late outcome never overwrites a newer one."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

from bot.archive import Archive
from bot.deliver.decide import decide
from bot.models import DeliveryResult, DeliveryState, Retry, Sent

NOW = datetime.now(UTC)


def _queued(archive: Archive) -> int:
    archive.subscription_states(["weekly"])
    assert archive.queue_period("weekly", ["a@example.org"], NOW - timedelta(days=7), NOW) == 1
    (row,) = archive.deliveries()
    return row.id


def test_a_late_outcome_after_the_lease_passed_on_does_not_undo_a_send(archive: Archive) -> None:
    _queued(archive)
    (first,) = archive.claim_deliveries("worker-a", 0.2)
    time.sleep(0.4)  # worker A is stuck past its lease; worker B takes the row over
    (second,) = archive.claim_deliveries("worker-b", 60)
    assert second.uncertain or second.attempts == first.attempts + 1
    now = datetime.now(UTC)
    sent = decide(second, DeliveryResult(second.id, Sent()), now=now)
    assert archive.finish_deliveries([sent]) == 0
    late = decide(first, DeliveryResult(first.id, Retry("smtp: timed out")), now=now)
    assert archive.finish_deliveries([late]) == 1
    (row,) = archive.deliveries()
    assert row.state is DeliveryState.SENT and row.last_error is None


def test_an_outcome_for_the_current_claim_is_recorded(archive: Archive) -> None:
    _queued(archive)
    (claimed,) = archive.claim_deliveries("worker-a", 60)
    result = DeliveryResult(claimed.id, Retry("smtp 127.0.0.1:25: connection refused"))
    assert archive.finish_deliveries([decide(claimed, result, now=datetime.now(UTC))]) == 0
    (row,) = archive.deliveries()
    assert row.state is DeliveryState.FAILED and "connection refused" in (row.last_error or "")
