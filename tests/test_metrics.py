"""Metrics: the archive's gauges at scrape time, and this worker's counters."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from bot.archive import Archive
from bot.metrics import Metrics
from bot.pipeline import PollOutcome
from tests.smtpsink import free_port
from tests.test_cli_worker import _scrape


@pytest.fixture
def served(filled: Archive) -> Iterator[tuple[Metrics, str]]:
    metrics = Metrics(filled)
    port = free_port()
    server = metrics.serve(f"127.0.0.1:{port}")
    yield metrics, f"http://127.0.0.1:{port}/metrics"
    server.shutdown()
    server.server_close()


def test_outbox_gauges_come_from_the_archive(filled: Archive, served: tuple[Metrics, str]) -> None:
    _, url = served
    start = datetime(2025, 1, 1, tzinfo=UTC)
    filled.subscription_states(["weekly"])
    filled.queue_period("weekly", ["a@example.org", "b@example.org"], start, start)
    scraped = _scrape(url)
    assert scraped['reportbot_outbox_deliveries{state="pending"}'] == 2.0
    assert scraped["reportbot_outbox_depth"] == 2.0
    assert scraped["reportbot_outbox_oldest_waiting_seconds"] >= 0.0
    assert scraped["reportbot_last_tick_timestamp_seconds"] == 0.0


def test_poll_and_delivery_counters(served: tuple[Metrics, str]) -> None:
    metrics, url = served
    metrics.observe_poll(
        [
            PollOutcome("a", "new", new=3, fetch_seconds=0.2, extract_seconds=0.01),
            PollOutcome("b", "failed", error="HTTP 500", fetch_seconds=0.1),
            PollOutcome("c", "not_modified", fetch_seconds=0.05),
        ]
    )
    metrics.observe_delivery({"sent": 4, "dead": 1})
    scraped = _scrape(url)
    assert scraped['reportbot_polls_total{status="failed"}'] == 1.0
    assert scraped['reportbot_items_archived_total{kind="new"}'] == 3.0
    assert scraped["reportbot_fetch_seconds_count"] == 3.0
    assert scraped["reportbot_extraction_seconds_count"] == 1.0
    assert scraped['reportbot_deliveries_total{state="sent"}'] == 4.0
    assert scraped['reportbot_deliveries_total{state="dead"}'] == 1.0
