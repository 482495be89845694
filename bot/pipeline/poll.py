"""One poll cycle: claim due feeds ─► fetch ─► parse (sandbox) ─► decide (bot.decide) ─►
extract (sandbox) ─► archive.record_poll, which applies the decision and returns only what is
new or updated."""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from enum import StrEnum

from bot import memory
from bot.archive import Archive
from bot.config import Config, WorkerConfig
from bot.decide import (
    Facts,
    FetchStatus,
    MissingFacts,
    ParseFailed,
    PollDecision,
    decide,
    item_keys,
)
from bot.errors import InputError, ParseError
from bot.extract import extract_batch, headline
from bot.fetch import Fetcher
from bot.models import FeedState, FetchResult, ParsedFeed
from bot.parse import parse_feed
from bot.sandbox import Sandbox, SandboxError

log = logging.getLogger("reportbot.pipeline")


class PollStatus(StrEnum):
    NEW = "new"  # new or updated items
    NOT_MODIFIED = "not_modified"
    UNCHANGED = "unchanged"  # answered with a feed, nothing new in it
    FAILED = "failed"
    SKIPPED = "skipped"  # the cycle stopped before this feed's fetch


@dataclass(frozen=True)
class PollOutcome:
    """What one feed's poll did, for the summary and the progress display."""

    key: str
    status: PollStatus
    new: int = 0
    updated: int = 0
    error: str | None = None
    fetch_seconds: float | None = None  # the conditional GET, redirects included
    extract_seconds: float | None = None  # facts of the new and changed items
    facts_missing: int = 0  # items stored without facts (extraction failed or timed out)


@dataclass(frozen=True)
class PollSummary:
    outcomes: tuple[PollOutcome, ...]

    def count(self, status: PollStatus | str) -> int:
        return sum(1 for o in self.outcomes if o.status == status)

    def fields(self) -> dict[str, int]:
        """The cycle in numbers, for a log line."""
        return {
            "polled": len(self.outcomes) - self.count(PollStatus.SKIPPED),
            "not_modified": self.count(PollStatus.NOT_MODIFIED),
            "failed": self.count(PollStatus.FAILED),
            "new_items": sum(o.new for o in self.outcomes),
            "updated_items": sum(o.updated for o in self.outcomes),
            "facts_missing": sum(o.facts_missing for o in self.outcomes),
        }

    @property
    def line(self) -> str:
        n = self.fields()
        line = (
            f"polled {n['polled']} feeds: {n['not_modified']} not modified, "
            f"{n['failed']} failed, {n['new_items']} new items, {n['updated_items']} updated items"
        )
        if n["facts_missing"]:
            line += f"; {n['facts_missing']} stored without facts (reportbot reextract --missing)"
        return line


# Sandbox workers import these before their first job (see Sandbox.preload).
JOB_MODULES = ("bot.parse", "bot.extract")


async def poll_cycle(
    archive: Archive,
    config: Config,
    owner: str,
    *,
    only: str | None = None,
    every: bool = False,
    progress: Callable[[PollOutcome], None] | None = None,
    stop: asyncio.Event | None = None,
) -> PollSummary:
    """Poll every due configured feed once (or just `only`, or with `every` all of them, due
    or not: `reportbot poll --all` after the admin changed something)."""
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
    quiet: list[PollDecision] = []  # healthy feeds' plain 304s, written together
    async with fetcher, sandbox_for(worker, workers=os.cpu_count() or 1) as sandbox:

        async def one(state: FeedState) -> PollOutcome:
            cfg = feeds[state.key]
            state = replace(state, interval=cfg.interval, allow_private=cfg.allow_private)
            try:
                if stop is not None and stop.is_set():
                    raise asyncio.CancelledError
                async with slots:
                    return await _poll_one(
                        archive, state, fetcher=fetcher, sandbox=sandbox, quiet=quiet
                    )
            except asyncio.CancelledError:
                archive.release(state.id, owner)
                return PollOutcome(key=state.key, status=PollStatus.SKIPPED)
            except Exception as exc:  # one broken feed must not stop the cycle
                log.exception("poll failed unexpectedly", extra={"feed_id": state.key})
                archive.release(state.id, owner)
                error = f"internal error: {exc}"
                return PollOutcome(key=state.key, status=PollStatus.FAILED, error=error)

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
                        remaining,
                        owner,
                        lease_seconds=worker.lease,
                        limit=room,
                        force=only is not None or every,
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
        worker.user_agent,
        per_host=min(worker.per_host, per_host or worker.per_host),
        connect_timeout=worker.connect_timeout,
        read_timeout=worker.read_timeout,
        total_timeout=worker.total_timeout,
        max_body_bytes=worker.max_body_bytes,
    )


def sandbox_for(worker: WorkerConfig, *, workers: int) -> Sandbox:
    """A Sandbox with the [worker] limits, its workers ready for parsing and extraction."""
    return Sandbox(
        workers=workers,
        timeout=worker.parse_timeout,
        memory_mb=worker.parse_memory_mb,
        preload=JOB_MODULES,
    )


async def check_feed(worker: WorkerConfig, url: str, allow_private: bool) -> ParsedFeed:
    """Fetch and parse one URL as a poll would (guard, caps, sandbox); nothing is stored."""
    async with (
        fetcher_for(worker, per_host=1) as fetcher,
        sandbox_for(worker, workers=1) as sandbox,
    ):
        fetched = await fetch_once(fetcher, url, allow_private=allow_private)
        return await parse_fetched(sandbox, fetched)


async def fetch_once(fetcher: Fetcher, url: str, *, allow_private: bool) -> FetchResult:
    """One fetch of `url` as a first poll makes it; InputError when it brought no body."""
    fetched = await fetcher.fetch(FeedState.first_poll(url, allow_private))
    if fetched.error is not None or fetched.body is None:
        raise InputError(url, fetched.error or "no body")
    return fetched


async def parse_fetched(sandbox: Sandbox, fetched: FetchResult) -> ParsedFeed:
    """The fetched body parsed in the sandbox; InputError naming the URL when the sandbox
    gave up on it (time or memory limit)."""
    try:
        parsed: ParsedFeed = await sandbox.run(parse_feed, fetched.body, fetched.url)
    except SandboxError as exc:
        raise InputError(fetched.url, str(exc)) from exc
    return parsed


async def _poll_one(
    archive: Archive,
    state: FeedState,
    *,
    fetcher: Fetcher,
    sandbox: Sandbox,
    quiet: list[PollDecision],
) -> PollOutcome:
    """fetch ─► parse (sandbox) ─► decide ─► extract (sandbox) ─► archive.record_poll."""
    began = time.perf_counter()
    fetched = await fetcher.fetch(state)
    fetch_seconds = time.perf_counter() - began
    parsed = await _parse(sandbox, fetched)
    known: dict[str, str] = {}
    if isinstance(parsed, ParsedFeed):
        known = archive.known_hashes(state.id, item_keys(parsed.items))
    decision = decide(state, fetched, parsed, known=known, now=datetime.now(UTC))
    if decision.quiet:  # a healthy feed's 304: batched (see Archive.record_not_modified)
        quiet.append(decision)
        return PollOutcome(
            key=state.key, status=PollStatus.NOT_MODIFIED, fetch_seconds=fetch_seconds
        )
    began = time.perf_counter()
    facts = await _extract(sandbox, decision, parsed, feed_key=state.key)
    extract_seconds = time.perf_counter() - began if decision.changed else None
    result = archive.record_poll(decision, facts)
    if decision.error is not None:
        status = PollStatus.FAILED
    elif decision.status is FetchStatus.NOT_MODIFIED:
        status = PollStatus.NOT_MODIFIED
    else:
        status = PollStatus.NEW if result.new or result.updated else PollStatus.UNCHANGED
    return PollOutcome(
        key=state.key,
        status=status,
        new=len(result.new),
        updated=len(result.updated),
        error=decision.error,
        fetch_seconds=fetch_seconds,
        extract_seconds=extract_seconds,
        facts_missing=sum(1 for f in facts.values() if isinstance(f, MissingFacts)),
    )


async def _parse(sandbox: Sandbox, fetched: FetchResult) -> ParsedFeed | ParseFailed | None:
    """The fetched body as a feed, parsed in the sandbox; None when there is no body."""
    if fetched.error is not None or fetched.body is None:
        return None
    try:
        parsed: ParsedFeed = await sandbox.run(parse_feed, fetched.body, fetched.url)
    except ParseError as exc:
        return ParseFailed(str(exc))
    except SandboxError as exc:
        return ParseFailed(f"{fetched.url}: {exc}")
    return parsed


async def _extract(
    sandbox: Sandbox,
    decision: PollDecision,
    parsed: ParsedFeed | ParseFailed | None,
    *,
    feed_key: str,
) -> dict[str, Facts]:
    """Facts of the new and changed items, extracted in the sandbox and only there: when
    that fails (time or memory limit), the items are stored with their facts missing and
    `reportbot reextract --missing` tries again. Never extracted in this process: the
    sandbox exists for exactly the article that overran it."""
    wanted = decision.needs_facts
    if not wanted or not isinstance(parsed, ParsedFeed):
        return {}
    texts = [w.item.text for w in wanted]
    titles = [headline(w.item.title, w.item.summary, w.item.text) for w in wanted]
    try:
        feed_texts = [i.text for i in parsed.items]
        extractions = await sandbox.run(extract_batch, texts, feed_texts, titles)
    except SandboxError as exc:
        log.warning(
            "fact extraction failed; items stored without facts",
            extra={"feed_id": feed_key, "items": len(wanted), "error": str(exc)},
        )
        missing = MissingFacts(f"extraction in the sandbox failed: {exc}")
        return {w.item.key: missing for w in wanted}
    return {w.item.key: e for w, e in zip(wanted, extractions, strict=True)}
