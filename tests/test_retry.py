"""Backoff with jitter and Retry-After, shared by polling and delivery."""

from __future__ import annotations

import random
from datetime import UTC, datetime

import pytest

from bot.retry import backoff, parse_retry_after

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("120", 120.0),
        (" 5 ", 5.0),
        ("1.5", 1.5),
        ("-3", 0.0),
        ("Tue, 01 Dec 2026 12:02:00 GMT", 120.0),
        ("Tue, 01 Dec 2026 11:00:00 GMT", 0.0),
        ("Tuesday, 01-Dec-26 12:00:30 GMT", 30.0),
        ("Tue Dec  1 12:01:00 2026", 60.0),
        ("soon", None),
        ("", None),
        (None, None),
    ],
)
def test_retry_after_reads_seconds_and_dates(value: str | None, expected: float | None) -> None:
    assert parse_retry_after(value, now=NOW) == expected


def test_backoff_doubles_within_jitter_and_caps() -> None:
    rng = random.Random(7)
    for attempt, base in [(1, 60), (2, 120), (3, 240), (5, 960)]:
        delay = backoff(attempt, low=60, high=86400, rng=rng)
        assert 0.8 * base <= delay <= 1.2 * base or delay == 60
    assert backoff(40, low=60, high=3600, rng=rng) <= 3600
    assert backoff(10_000, low=60, high=3600, rng=rng) <= 3600


def test_backoff_never_below_the_floor() -> None:
    assert all(backoff(1, low=60, high=600, rng=random.Random(s)) >= 60 for s in range(50))
