"""The poll decision as tables, without a database: health, backoff, Retry-After, TTL,
validators, redirects and the items to write."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from bot.decide import (
    RULES,
    FetchStatus,
    HealthChange,
    ItemChange,
    ParseFailed,
    PollDecision,
    RedirectVerdict,
    decide,
    item_keys,
    plan_items,
)
from bot.identity import content_hash
from bot.models import FeedInfo, FeedState, FetchResult, Item, ParsedFeed

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
URL = "https://feeds.example.org/a"
NEW_URL = "https://feeds.example.org/b"
STATE = replace(FeedState.first_poll(URL, key="a"), id=7, etag='"old"', last_modified="Mon")


def _item(key: str, text: str = "Body") -> Item:
    return Item(key=key, guid=key, link="", title="T", published=None, text=text)


def _doc(*items: Item, ttl: float | None = None) -> ParsedFeed:
    return ParsedFeed(feed=FeedInfo(title="F", ttl=ttl), items=items, source=URL, format="rss20")


OK = FetchResult(url=URL, status=200, body=b"<rss/>", etag='"new"', last_modified=None)
NOT_MODIFIED = FetchResult(url=URL, status=304)
FAILED = FetchResult(url=URL, status=500, error=f"HTTP 500 from {URL}")


def _decide(
    fetched: FetchResult,
    parsed: ParsedFeed | ParseFailed | None = None,
    state: FeedState = STATE,
    known: dict[str, str] | None = None,
) -> PollDecision:
    return decide(state, fetched, parsed, known=known or {}, now=NOW, rng=random.Random(1))


def _delay(decision: PollDecision) -> float:
    return (decision.next_poll_at - NOW).total_seconds()


@pytest.mark.parametrize(
    ("errors_before", "healthy_before", "fetched", "errors", "healthy", "change"),
    [
        (0, True, FAILED, 1, True, HealthChange.SAME),
        (8, True, FAILED, 9, True, HealthChange.SAME),
        (9, True, FAILED, 10, False, HealthChange.UNHEALTHY),  # the 10th error in a row
        (10, False, FAILED, 11, False, HealthChange.SAME),  # reported once, not again
        (12, False, NOT_MODIFIED, 0, True, HealthChange.RECOVERED),
        (3, True, NOT_MODIFIED, 0, True, HealthChange.SAME),
        (0, True, NOT_MODIFIED, 0, True, HealthChange.SAME),
    ],
)
def test_health(
    errors_before: int,
    healthy_before: bool,
    fetched: FetchResult,
    errors: int,
    healthy: bool,
    change: HealthChange,
) -> None:
    state = replace(STATE, error_count=errors_before, healthy=healthy_before)
    health = _decide(fetched, state=state).health
    assert (health.error_count, health.healthy, health.change) == (errors, healthy, change)
    assert (health.event is None) == (change is HealthChange.SAME)


def test_unhealthy_and_recovered_events_name_the_feed() -> None:
    state = replace(STATE, error_count=9)
    assert _decide(FAILED, state=state).health.event == (
        f"feed a failed 10 times in a row: HTTP 500 from {URL}"
    )
    state = replace(STATE, error_count=10, healthy=False)
    assert _decide(NOT_MODIFIED, state=state).health.event == "feed a works again after 10 failures"


@pytest.mark.parametrize(
    ("errors_before", "low", "high"),
    [(0, 48, 72), (3, 0.8 * 480, 1.2 * 480), (40, 0.8 * 86400, 86400)],
)
def test_errors_back_off_with_jitter_up_to_a_day(
    errors_before: int, low: float, high: float
) -> None:
    state = replace(STATE, error_count=errors_before)
    delays = {_delay(decide(state, FAILED, None, known={}, now=NOW)) for _ in range(20)}
    assert all(low <= d <= high for d in delays)
    assert len(delays) > 1  # jittered: feeds that failed together do not retry in step


@pytest.mark.parametrize(
    ("fetched", "parsed", "low", "high"),
    [
        (NOT_MODIFIED, None, 3600, 3600),  # the interval
        (OK, _doc(ttl=7200), 7200, 7200),  # a longer TTL the feed asks for wins
        (OK, _doc(ttl=60), 3600, 3600),  # a shorter one does not
        (replace(FAILED, status=429, retry_after=5000), None, 5000, 5000),  # Retry-After wins
        (replace(FAILED, status=503, retry_after=10), None, 60, 72),  # not below the backoff
        (replace(FAILED, status=429, retry_after=9e9), None, 86400, 86400),  # capped at a day
    ],
)
def test_next_poll(
    fetched: FetchResult, parsed: ParsedFeed | None, low: float, high: float
) -> None:
    assert low <= _delay(_decide(fetched, parsed)) <= high


@pytest.mark.parametrize(
    ("fetched", "etag", "modified"),
    [
        (OK, '"new"', None),  # a 200 without Last-Modified clears it
        (NOT_MODIFIED, '"old"', "Mon"),  # a 304 without validators keeps ours
        (replace(NOT_MODIFIED, etag='"v2"'), '"v2"', "Mon"),
        (FAILED, '"old"', "Mon"),
    ],
)
def test_validators(fetched: FetchResult, etag: str | None, modified: str | None) -> None:
    parsed = _doc() if fetched.status == 200 else None
    decision = _decide(fetched, parsed)
    assert (decision.etag, decision.last_modified) == (etag, modified)


def test_parse_failure_is_an_error_and_writes_nothing() -> None:
    decision = _decide(OK, ParseFailed("a.xml: not a feed"))
    assert decision.status is FetchStatus.ERROR and decision.error == "a.xml: not a feed"
    assert decision.items == () and decision.health.error_count == 1
    assert (decision.etag, decision.last_modified) == ('"old"', "Mon")  # kept for next time


def test_a_healthy_feeds_plain_304_is_quiet() -> None:
    assert _decide(NOT_MODIFIED).quiet
    assert not _decide(NOT_MODIFIED, state=replace(STATE, error_count=1)).quiet
    assert not _decide(NOT_MODIFIED, state=replace(STATE, healthy=False)).quiet
    assert not _decide(replace(NOT_MODIFIED, permanent_redirect=NEW_URL)).quiet
    assert not _decide(NOT_MODIFIED, state=replace(STATE, redirect_url=NEW_URL)).quiet
    assert not _decide(OK, _doc()).quiet


MOVED = replace(OK, url=NEW_URL, permanent_redirect=NEW_URL)
MOVED_TO_404 = replace(FAILED, status=404, url=NEW_URL, permanent_redirect=NEW_URL)
MOVED_NOT_MODIFIED = replace(NOT_MODIFIED, url=NEW_URL, permanent_redirect=NEW_URL)


@pytest.mark.parametrize(
    ("redirect_url", "count", "fetched", "parsed", "verdict", "good"),
    [
        (None, 0, OK, _doc(), RedirectVerdict.NONE, 0),
        (NEW_URL, 2, OK, _doc(), RedirectVerdict.NONE, 0),  # gone: forgotten
        (None, 0, MOVED, _doc(), RedirectVerdict.COUNTING, 1),
        (NEW_URL, 1, MOVED, _doc(), RedirectVerdict.COUNTING, 2),
        (NEW_URL, 2, MOVED, _doc(), RedirectVerdict.ADOPTED, 3),  # the third good poll
        ("https://elsewhere.example/", 2, MOVED, _doc(), RedirectVerdict.COUNTING, 1),
        (None, 0, MOVED_TO_404, None, RedirectVerdict.REFUSED, 0),  # a dead target
        (NEW_URL, 2, MOVED_TO_404, None, RedirectVerdict.REFUSED, 0),  # starts over
        (NEW_URL, 2, MOVED, ParseFailed("not a feed"), RedirectVerdict.REFUSED, 0),
        (NEW_URL, 2, MOVED_NOT_MODIFIED, None, RedirectVerdict.ADOPTED, 3),  # a 304 is good
    ],
)
def test_permanent_redirect_is_adopted_only_when_the_new_url_serves_a_feed(
    redirect_url: str | None,
    count: int,
    fetched: FetchResult,
    parsed: ParsedFeed | ParseFailed | None,
    verdict: RedirectVerdict,
    good: int,
) -> None:
    state = replace(STATE, redirect_url=redirect_url, redirect_count=count)
    redirect = _decide(fetched, parsed, state=state).redirect
    assert (redirect.verdict, redirect.good_polls) == (verdict, good)
    assert redirect.target == (fetched.permanent_redirect if verdict.value != "none" else None)
    assert RULES.redirect_polls == 3


def test_items_new_updated_unchanged() -> None:
    same, edited, fresh = _item("g1", "Same"), _item("g2", "Edited"), _item("g3", "New")
    known = {"g1": content_hash("T", "", "Same"), "g2": content_hash("T", "", "Old")}
    writes = _decide(OK, _doc(same, edited, fresh), known=known).items
    assert [(w.item.key, w.change) for w in writes] == [
        ("g1", ItemChange.UNCHANGED),
        ("g2", ItemChange.UPDATED),
        ("g3", ItemChange.NEW),
    ]
    assert [w.needs_facts for w in writes] == [False, True, True]


def test_a_key_twice_keeps_the_later_item_and_nul_is_removed() -> None:
    writes = plan_items([_item("g", "first"), _item("g\x00", "sec\x00ond")], {})
    assert [(w.item.key, w.item.text) for w in writes] == [("g", "second")]
    assert writes[0].content_hash == content_hash("T", "", "second")
    assert item_keys([_item("g"), _item("g\x00"), _item("h")]) == ["g", "h"]


def test_next_poll_is_counted_from_now() -> None:
    later = NOW + timedelta(hours=5)
    decision = decide(STATE, NOT_MODIFIED, None, known={}, now=later)
    assert decision.next_poll_at == later + timedelta(seconds=3600)
