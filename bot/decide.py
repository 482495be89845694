"""The poll decision: what one poll's answer means, decided in one pure function.

`decide(state, fetched, parsed, known=..., now=...)` turns a feed's stored state, the fetch,
the parsed document (or why it could not be parsed) and the stored content hashes of its items
into a `PollDecision`: the items to write, the validators to keep, the health transition, what
to do about a permanent redirect, and when to poll next. The archive applies a decision
(`Archive.record_poll`) without rules of its own, so every rule here is tested without a
database (tests/test_decide.py). The split follows reader's `_update.py` Decider.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields, replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from bot.identity import content_hash
from bot.models import Extraction, FeedInfo, FeedState, FetchResult, Item, ParsedFeed
from bot.retry import backoff


@dataclass(frozen=True)
class PollRules:
    """The numbers the rules use (one place, so tests can state them)."""

    unhealthy_after: int = 10  # errors in a row before a feed is reported unhealthy
    backoff_low: float = 60.0  # first retry after an error, seconds
    backoff_high: float = 86400.0  # the longest wait, also the cap on Retry-After
    redirect_polls: int = 3  # good polls through one permanent redirect before it is adopted


RULES = PollRules()


class ItemChange(StrEnum):
    NEW = "new"
    UPDATED = "updated"  # the words changed: facts are extracted again
    UNCHANGED = "unchanged"  # same words: only what legitimately moves is refreshed


class FetchStatus(StrEnum):
    """A poll as the fetch log records it."""

    OK = "ok"
    NOT_MODIFIED = "not_modified"
    ERROR = "error"


class HealthChange(StrEnum):
    SAME = "same"
    UNHEALTHY = "feed_unhealthy"  # the event kinds the admin channel receives
    RECOVERED = "feed_recovered"


class RedirectVerdict(StrEnum):
    NONE = "none"  # no permanent redirect on this poll: any earlier one is forgotten
    COUNTING = "counting"  # the new URL answered with a feed; adopted after enough such polls
    REFUSED = "refused"  # the new URL did not answer with a feed: the stored URL stays
    ADOPTED = "adopted"  # the stored URL moves to the new one


@dataclass(frozen=True)
class ParseFailed:
    """The fetched body could not be read as a feed (parse error, sandbox limit)."""

    error: str


@dataclass(frozen=True)
class MissingFacts:
    """Facts that could not be extracted within the sandbox's limits; the item is stored
    without them and `reportbot reextract --missing` tries again."""

    reason: str


Facts = Extraction | MissingFacts


@dataclass(frozen=True)
class ItemWrite:
    item: Item  # NUL characters already removed (PostgreSQL refuses them)
    content_hash: str
    change: ItemChange

    @property
    def needs_facts(self) -> bool:
        return self.change is not ItemChange.UNCHANGED


@dataclass(frozen=True)
class Health:
    error_count: int
    healthy: bool
    change: HealthChange
    last_error: str | None
    event: str | None  # the admin's message when `change` is not SAME


@dataclass(frozen=True)
class Redirect:
    verdict: RedirectVerdict
    target: str | None = None
    good_polls: int = 0  # polls in a row on which `target` answered with a feed


@dataclass(frozen=True)
class PollDecision:
    feed_id: int
    feed_key: str
    status: FetchStatus
    http_status: int | None
    source: str  # the URL that finally answered, for the fetch log
    error: str | None
    items: tuple[ItemWrite, ...]
    feed_info: FeedInfo | None  # what a parsed document said about its feed
    etag: str | None  # the validators to store (None: none)
    last_modified: str | None
    health: Health
    redirect: Redirect
    next_poll_at: datetime
    quiet: bool  # a healthy feed's plain 304: written in a batch with the others

    @property
    def needs_facts(self) -> tuple[ItemWrite, ...]:
        return tuple(w for w in self.items if w.needs_facts)

    @property
    def changed(self) -> bool:
        return any(w.needs_facts for w in self.items)


def clean(item: Item) -> Item:
    """The item without NUL characters in any text field (PostgreSQL rejects them in text)."""
    changes: dict[str, Any] = {
        name: value.replace("\x00", "")
        for name in _TEXT_FIELDS
        if isinstance(value := getattr(item, name), str) and "\x00" in value
    }
    return replace(item, **changes) if changes else item


_TEXT_FIELDS = tuple(f.name for f in fields(Item))


def item_keys(items: Iterable[Item]) -> list[str]:
    """The keys the archive stores these items under (ask it for their hashes by these)."""
    # clean(i).key without cleaning the whole item (its text is tens of KB)
    return list(dict.fromkeys(i.key.replace("\x00", "") for i in items))


def plan_items(items: Iterable[Item], known: Mapping[str, str]) -> tuple[ItemWrite, ...]:
    """Each item once (a key twice in one document: the later entry wins), compared by its
    content hash with the stored one: new, updated (words changed) or unchanged."""
    batch: dict[str, Item] = {}
    for item in map(clean, items):
        batch[item.key] = item
    writes = []
    for key, item in batch.items():
        digest = content_hash(item.title, item.summary, item.text)
        stored = known.get(key)
        if stored is None:
            change = ItemChange.NEW
        elif stored == digest:
            change = ItemChange.UNCHANGED
        else:
            change = ItemChange.UPDATED
        writes.append(ItemWrite(item=item, content_hash=digest, change=change))
    return tuple(writes)


def decide(
    state: FeedState,
    fetched: FetchResult,
    parsed: ParsedFeed | ParseFailed | None,
    *,
    known: Mapping[str, str],
    now: datetime,
    rules: PollRules = RULES,
    rng: random.Random | None = None,
) -> PollDecision:
    """What to write for one poll. `parsed` is None when there was nothing to parse (a 304
    or a failed fetch); `known` maps item keys to their stored content hashes."""
    error = fetched.error
    if error is None and isinstance(parsed, ParseFailed):
        error = parsed.error
    document = parsed if isinstance(parsed, ParsedFeed) and error is None else None
    if error is None and document is None and not fetched.not_modified:
        error = f"no feed in the answer from {fetched.url}"
    if error is not None:
        status = FetchStatus.ERROR
    elif fetched.not_modified:
        status = FetchStatus.NOT_MODIFIED
    else:
        status = FetchStatus.OK
    etag, modified = _validators(state, fetched, status)
    health = _health(state, error, rules)
    # a 304 from the new URL answers for the feed it served before (its validators came
    # from there): counted as good, or a feed with an ETag could never be moved
    answered = error is None and (document is not None or fetched.not_modified)
    redirect = _redirect(state, fetched, answered_feed=answered, rules=rules)
    ttl = document.feed.ttl if document is not None else None
    delay = _delay(state, health, retry_after=fetched.retry_after, ttl=ttl, rules=rules, rng=rng)
    quiet = (
        status is FetchStatus.NOT_MODIFIED
        and health.change is HealthChange.SAME
        and state.error_count == 0
        and redirect.verdict is RedirectVerdict.NONE
        and state.redirect_url is None
    )
    return PollDecision(
        feed_id=state.id,
        feed_key=state.key,
        status=status,
        http_status=fetched.status,
        source=fetched.url,
        error=error,
        items=plan_items(document.items, known) if document is not None else (),
        feed_info=document.feed if document is not None else None,
        etag=etag,
        last_modified=modified,
        health=health,
        redirect=redirect,
        next_poll_at=now + timedelta(seconds=delay),
        quiet=quiet,
    )


def _validators(
    state: FeedState, fetched: FetchResult, status: FetchStatus
) -> tuple[str | None, str | None]:
    if status is FetchStatus.OK:  # a 200 without validators clears them
        return fetched.etag, fetched.last_modified
    if status is FetchStatus.NOT_MODIFIED:  # a 304 may repeat them, or not: keep ours
        return fetched.etag or state.etag, fetched.last_modified or state.last_modified
    return state.etag, state.last_modified


def _health(state: FeedState, error: str | None, rules: PollRules) -> Health:
    if error is None:
        if state.healthy:
            return Health(0, True, HealthChange.SAME, None, None)
        message = f"feed {state.key} works again after {state.error_count} failures"
        return Health(0, True, HealthChange.RECOVERED, None, message)
    count = state.error_count + 1
    last_error = error.replace("\x00", "")[:2000]
    if state.healthy and count >= rules.unhealthy_after:
        message = f"feed {state.key} failed {count} times in a row: {error}"
        return Health(count, False, HealthChange.UNHEALTHY, last_error, message)
    return Health(count, state.healthy, HealthChange.SAME, last_error, None)


def _redirect(
    state: FeedState, fetched: FetchResult, *, answered_feed: bool, rules: PollRules
) -> Redirect:
    """A permanent redirect moves the stored URL only after the new URL itself answered with
    a feed on `redirect_polls` polls in a row: a 301 to a dead URL must not be adopted (the
    feed would then be lost until someone edits the config)."""
    target = fetched.permanent_redirect
    if not target:
        return Redirect(RedirectVerdict.NONE)
    if not answered_feed:
        return Redirect(RedirectVerdict.REFUSED, target)
    good = state.redirect_count + 1 if state.redirect_url == target else 1
    if good >= rules.redirect_polls:
        return Redirect(RedirectVerdict.ADOPTED, target, good)
    return Redirect(RedirectVerdict.COUNTING, target, good)


def _delay(
    state: FeedState,
    health: Health,
    *,
    retry_after: float | None,
    ttl: float | None,
    rules: PollRules,
    rng: random.Random | None,
) -> float:
    """Seconds until the next poll: the interval (or a longer TTL the feed asks for); after
    errors, backoff with jitter; never before Retry-After (itself capped at the longest wait)."""
    if health.error_count == 0:
        delay = max(state.interval, ttl or 0.0)
    else:
        delay = backoff(health.error_count, low=rules.backoff_low, high=rules.backoff_high, rng=rng)
    if retry_after is not None:
        delay = max(delay, min(retry_after, rules.backoff_high))
    return delay
