"""One poll cycle: claim due feeds ─► fetch ─► parse (sandbox) ─► extract (sandbox) ─►
archive.record_poll, which returns only what is new or updated."""

from __future__ import annotations

import asyncio
import logging
import os
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

from bot import memory
from bot.archive import Archive
from bot.config import Config, WorkerConfig
from bot.errors import InputError, ParseError
from bot.extract import RecurringIndex, extract
from bot.fetch import Fetcher
from bot.identity import content_hash
from bot.models import (
    Extraction,
    FeedState,
    FetchResult,
    Item,
    ParsedFeed,
)
from bot.parse import parse_feed
from bot.sandbox import Sandbox, SandboxError

log = logging.getLogger("reportbot.pipeline")


@dataclass(frozen=True)
class PollOutcome:
    """What one feed's poll did, for the summary and the progress display."""

    key: str
    status: str  # "new" | "not_modified" | "unchanged" | "failed" | "skipped"
    new: int = 0
    updated: int = 0
    error: str | None = None
    fetch_seconds: float | None = None  # the conditional GET, redirects included
    extract_seconds: float | None = None  # facts of the new and changed items


@dataclass(frozen=True)
class PollSummary:
    outcomes: tuple[PollOutcome, ...]

    def count(self, status: str) -> int:
        return sum(1 for o in self.outcomes if o.status == status)

    def fields(self) -> dict[str, int]:
        """The cycle in numbers, for a log line."""
        return {
            "polled": len(self.outcomes) - self.count("skipped"),
            "not_modified": self.count("not_modified"),
            "failed": self.count("failed"),
            "new_items": sum(o.new for o in self.outcomes),
            "updated_items": sum(o.updated for o in self.outcomes),
        }

    @property
    def line(self) -> str:
        new = sum(o.new for o in self.outcomes)
        updated = sum(o.updated for o in self.outcomes)
        polled = len(self.outcomes) - self.count("skipped")
        return (
            f"polled {polled} feeds: {self.count('not_modified')} not modified, "
            f"{self.count('failed')} failed, {new} new items, {updated} updated items"
        )


def extract_batch(texts: list[str], feed_texts: list[str]) -> list[Extraction]:
    """Facts of several items of one feed (runs in a sandbox worker)."""
    index = RecurringIndex(feed_texts)
    return [extract(text, index) for text in texts]


def next_poll_delay(
    interval: float, errors: int, retry_after: float | None, ttl: float | None
) -> float:
    """Seconds until the next poll: the interval (or a longer TTL the feed asks for); after
    errors, exponential backoff with jitter from 1 min up to 24 h; never before Retry-After."""
    if errors == 0:
        delay = max(interval, ttl or 0.0)
    else:
        base = min(BACKOFF_MAX, BACKOFF_MIN * 2 ** (errors - 1))
        delay = base * random.uniform(0.8, 1.2)  # jitter: failed feeds do not retry in step
        delay = min(BACKOFF_MAX, max(BACKOFF_MIN, delay))
    if retry_after is not None:
        delay = max(delay, min(retry_after, BACKOFF_MAX))
    return delay


BACKOFF_MIN = 60.0
BACKOFF_MAX = 86400.0


async def poll_cycle(
    archive: Archive,
    config: Config,
    owner: str,
    only: str | None = None,
    progress: Callable[[PollOutcome], None] | None = None,
    stop: asyncio.Event | None = None,
) -> PollSummary:
    """Poll every due configured feed once (or just `only`, due or not)."""
    worker = config.worker
    feeds = {f.id: f for f in config.feeds}
    if only is not None:
        config.feed(only)  # a clear error for an unknown id
    archive.sync_feeds([(f.id, f.url, f.title) for f in config.feeds])
    keys = [only] if only is not None else list(feeds)
    # Claimed a batch at a time, so that several workers share one cycle's feeds.
    batch = max(10, worker.concurrency * 2)
    outcomes: list[PollOutcome] = []
    fetcher = fetcher_for(worker)
    slots = asyncio.Semaphore(worker.concurrency)
    quiet: list[tuple[FeedState, FetchResult, datetime]] = []  # healthy 304s, written together
    async with (
        fetcher,
        Sandbox(
            workers=os.cpu_count() or 1,
            timeout=worker.parse_timeout,
            memory_mb=worker.parse_memory_mb,
        ) as sandbox,
    ):

        async def one(state: FeedState) -> PollOutcome:
            cfg = feeds[state.key]
            state = replace(state, interval=cfg.interval, allow_private=cfg.allow_private)
            try:
                if stop is not None and stop.is_set():
                    raise asyncio.CancelledError
                async with slots:
                    return await _poll_one(archive, fetcher, sandbox, state, quiet)
            except asyncio.CancelledError:
                archive.release(state.id, owner)
                return PollOutcome(key=state.key, status="skipped")
            except Exception as exc:  # one broken feed must not stop the cycle
                log.exception("poll failed unexpectedly", extra={"feed_id": state.key})
                archive.release(state.id, owner)
                return PollOutcome(key=state.key, status="failed", error=f"internal error: {exc}")

        # Feeds are claimed a batch at a time, topped up as polls finish: several workers
        # share one cycle's feeds, and no batch waits for its slowest feed.
        attempted: set[str] = set()  # a feed is tried once a cycle, whatever happened to it
        running: set[asyncio.Task[PollOutcome]] = set()
        exhausted = False
        while True:
            stopping = stop is not None and stop.is_set()
            if not exhausted and not stopping and len(running) <= batch // 2:
                remaining = [k for k in keys if k not in attempted]
                room = batch - len(running)
                claimed = (
                    archive.claim_due(
                        remaining, owner, worker.lease, limit=room, force=only is not None
                    )
                    if remaining
                    else []
                )
                attempted.update(key for _, key in claimed)
                running.update(asyncio.ensure_future(one(state)) for state, _ in claimed)
                exhausted = len(claimed) < room or only is not None
            if not running:
                break
            done, running = await asyncio.wait(running, return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                outcome = task.result()
                outcomes.append(outcome)
                if outcome.error:
                    log.warning(
                        "poll failed", extra={"feed_id": outcome.key, "error": outcome.error}
                    )
                if progress is not None:
                    progress(outcome)
            if len(quiet) >= batch:
                archive.record_not_modified(quiet)
                quiet.clear()
    archive.record_not_modified(quiet)
    if outcomes:
        memory.trim()  # the cycle's documents are gone: do not keep the worker at its peak
    return PollSummary(outcomes=tuple(outcomes))


def fetcher_for(worker: WorkerConfig, per_host: int | None = None) -> Fetcher:
    """The Fetcher the [worker] settings describe (overall concurrency is the caller's)."""
    return Fetcher(
        user_agent=worker.user_agent,
        per_host=min(worker.per_host, per_host or worker.per_host),
        connect_timeout=worker.connect_timeout,
        read_timeout=worker.read_timeout,
        total_timeout=worker.total_timeout,
        max_body_bytes=worker.max_body_bytes,
    )


async def check_feed(worker: WorkerConfig, url: str, allow_private: bool) -> ParsedFeed:
    """Fetch and parse one URL as a poll would (guard, caps, sandbox); nothing is stored."""
    async with fetcher_for(worker, per_host=1) as fetcher:
        fetched = await fetcher.fetch(FeedState.first_poll(url, allow_private))
    if fetched.error is not None or fetched.body is None:
        raise InputError(url, fetched.error or "no body")
    async with Sandbox(
        workers=1, timeout=worker.parse_timeout, memory_mb=worker.parse_memory_mb
    ) as sandbox:
        try:
            parsed: ParsedFeed = await sandbox.run(parse_feed, fetched.body, fetched.url)
        except SandboxError as exc:
            raise InputError(fetched.url, str(exc)) from exc
    return parsed


async def _poll_one(
    archive: Archive,
    fetcher: Fetcher,
    sandbox: Sandbox,
    state: FeedState,
    quiet: list[tuple[FeedState, FetchResult, datetime]],
) -> PollOutcome:
    began = time.perf_counter()
    fetched = await fetcher.fetch(state)
    fetch_seconds = time.perf_counter() - began
    extract_seconds: float | None = None
    plain = not fetched.permanent_redirect and not state.redirect_url
    if fetched.not_modified and state.healthy and not state.error_count and plain:
        # a healthy feed's 304: batched (see Archive.record_not_modified)
        delay = next_poll_delay(state.interval, 0, None, None)
        quiet.append((state, fetched, datetime.now(UTC) + timedelta(seconds=delay)))
        return PollOutcome(key=state.key, status="not_modified", fetch_seconds=fetch_seconds)
    parsed: ParsedFeed | None = None
    error = fetched.error
    facts: dict[str, Extraction] = {}
    if error is None and not fetched.not_modified and fetched.body is not None:
        try:
            parsed = await sandbox.run(parse_feed, fetched.body, fetched.url)
        except (ParseError, SandboxError) as exc:
            error = f"{fetched.url}: {exc}" if isinstance(exc, SandboxError) else str(exc)
    if parsed is not None:
        known = archive.known_hashes(state.id, [i.key for i in parsed.items])
        changed = [
            i for i in parsed.items if known.get(i.key) != content_hash(i.title, i.summary, i.text)
        ]
        if changed:
            try:
                began = time.perf_counter()
                extractions = await sandbox.run(
                    extract_batch, [i.text for i in changed], [i.text for i in parsed.items]
                )
                extract_seconds = time.perf_counter() - began
                facts = {i.key: e for i, e in zip(changed, extractions, strict=True)}
            except SandboxError as exc:
                log.warning(
                    "fact extraction failed", extra={"feed_id": state.key, "error": str(exc)}
                )
    errors_after = 0 if error is None else state.error_count + 1
    ttl = parsed.feed.ttl if parsed is not None else None
    delay = next_poll_delay(state.interval, errors_after, fetched.retry_after, ttl)
    next_at = datetime.now(UTC) + timedelta(seconds=delay)

    def stored_facts(_parsed: ParsedFeed, item: Item) -> Extraction:
        return facts.get(item.key) or extract(item.text)

    result = archive.record_poll(state, fetched, parsed, stored_facts, next_at, error)
    outcome = PollOutcome(
        key=state.key,
        status="new" if result.new or result.updated else "unchanged",
        new=len(result.new),
        updated=len(result.updated),
        fetch_seconds=fetch_seconds,
        extract_seconds=extract_seconds,
    )
    if error is not None:
        return replace(outcome, status="failed", error=error)
    if fetched.not_modified:
        return replace(outcome, status="not_modified")
    return outcome
