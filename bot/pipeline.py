"""The only module that composes stages.

import:     read file ─► dump.parse_dump | parse.parse_feed ─► archive.add ─► AddResult
                                                (extract.extract runs inside, per new/updated item)
reextract:  archive.items ─► extract.extract ─► archive.store_facts
"""

from __future__ import annotations

import asyncio
import logging
import os
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from apscheduler.triggers.cron import CronTrigger

from bot.archive import Archive, Extractor
from bot.config import Config, SubscriptionConfig, WorkerConfig
from bot.dump import looks_like_dump, parse_dump
from bot.errors import ConfigError, InputError, ParseError
from bot.extract import RecurringIndex, extract
from bot.fetch import Fetcher
from bot.identity import content_hash
from bot.models import (
    AddResult,
    DeliveryResult,
    Digest,
    Extraction,
    FeedState,
    FetchResult,
    Item,
    ParsedFeed,
    Rendered,
)
from bot.parse import parse_feed
from bot.sandbox import Sandbox, SandboxError

log = logging.getLogger("reportbot.pipeline")


def read_document(path: Path) -> ParsedFeed:
    """One file → ParsedFeed, whatever its format (feed dump, RSS, Atom)."""
    source = str(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError as exc:
        raise InputError(source, "no such file") from exc
    except IsADirectoryError as exc:
        raise InputError(source, "is a directory, not a file") from exc
    except OSError as exc:
        raise InputError(source, f"cannot read: {exc.strerror or exc}") from exc
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = ""
    if text and looks_like_dump(text):
        return parse_dump(text, source)
    return parse_feed(data, source)


def fact_extractor() -> Extractor:
    """Extraction for items being archived; boilerplate that recurs across the document's
    items (promo boxes) is recognised with an index built once per document."""
    indexes: dict[int, RecurringIndex] = {}

    def run(parsed: ParsedFeed, item: Item) -> Extraction:
        index = indexes.get(id(parsed))
        if index is None:
            index = indexes[id(parsed)] = RecurringIndex(i.text for i in parsed.items)
        return extract(item.text, index)

    return run


def import_files(
    archive: Archive,
    paths: Sequence[Path],
    feed_key: str | None = None,
    refused: list[InputError] | None = None,
) -> tuple[AddResult, ...]:
    """Read every file first, then archive them all in one transaction: all or nothing.
    With a `refused` list, a file that cannot be read is put there and the rest go on."""
    documents = []
    for path in paths:
        try:
            documents.append(read_document(path))
        except InputError as exc:
            if refused is None:
                raise
            refused.append(exc)
    return archive.add([(doc, feed_key) for doc in documents], fact_extractor())


def reextract(archive: Archive, progress: Callable[[int, int], None] | None = None) -> int:
    """Recompute every item's facts with this extractor version; returns the item count."""
    feeds = archive.feeds()
    per_feed = [archive.items(feed_key=feed.key) for feed in feeds]
    total = sum(len(items) for items in per_feed)
    done = 0
    for items in per_feed:
        index = RecurringIndex(s.item.text for s in items)
        facts = [(s.id, extract(s.item.text, index)) for s in items]
        archive.store_facts(facts)
        done += len(items)
        if progress is not None:
            progress(done, total)
    return total


# -- polling ------------------------------------------------------------------------------


@dataclass(frozen=True)
class PollOutcome:
    """What one feed's poll did, for the summary and the progress display."""

    key: str
    status: str  # "new" | "not_modified" | "unchanged" | "failed" | "skipped"
    new: int = 0
    updated: int = 0
    error: str | None = None


@dataclass(frozen=True)
class PollSummary:
    outcomes: tuple[PollOutcome, ...]

    def count(self, status: str) -> int:
        return sum(1 for o in self.outcomes if o.status == status)

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
                log.exception("poll of feed %s failed unexpectedly", state.key)
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
                    log.warning("feed_id=%s poll failed: %s", outcome.key, outcome.error)
                if progress is not None:
                    progress(outcome)
            if len(quiet) >= batch:
                archive.record_not_modified(quiet)
                quiet.clear()
    archive.record_not_modified(quiet)
    return PollSummary(outcomes=tuple(outcomes))


def fetcher_for(worker: WorkerConfig, concurrency: int | None = None) -> Fetcher:
    """The Fetcher the [worker] settings describe."""
    return Fetcher(
        user_agent=worker.user_agent,
        concurrency=concurrency or worker.concurrency,
        per_host=min(worker.per_host, concurrency or worker.per_host),
        connect_timeout=worker.connect_timeout,
        read_timeout=worker.read_timeout,
        total_timeout=worker.total_timeout,
        max_body_bytes=worker.max_body_bytes,
    )


async def check_feed(worker: WorkerConfig, url: str, allow_private: bool) -> ParsedFeed:
    """Fetch and parse one URL as a poll would (guard, caps, sandbox); nothing is stored."""
    async with fetcher_for(worker, concurrency=1) as fetcher:
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
    fetched = await fetcher.fetch(state)
    plain = not fetched.permanent_redirect and not state.redirect_url
    if fetched.not_modified and state.healthy and not state.error_count and plain:
        # a healthy feed's 304: batched (see Archive.record_not_modified)
        delay = next_poll_delay(state.interval, 0, None, None)
        quiet.append((state, fetched, datetime.now(UTC) + timedelta(seconds=delay)))
        return PollOutcome(key=state.key, status="not_modified")
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
                extractions = await sandbox.run(
                    extract_batch, [i.text for i in changed], [i.text for i in parsed.items]
                )
                facts = {i.key: e for i, e in zip(changed, extractions, strict=True)}
            except SandboxError as exc:
                log.warning("feed_id=%s fact extraction failed: %s", state.key, exc)
    errors_after = 0 if error is None else state.error_count + 1
    ttl = parsed.feed.ttl if parsed is not None else None
    delay = next_poll_delay(state.interval, errors_after, fetched.retry_after, ttl)
    next_at = datetime.now(UTC) + timedelta(seconds=delay)

    def stored_facts(_parsed: ParsedFeed, item: Item) -> Extraction:
        return facts.get(item.key) or extract(item.text)

    result = archive.record_poll(state, fetched, parsed, stored_facts, next_at, error)
    if error is not None:
        return PollOutcome(key=state.key, status="failed", error=error)
    if fetched.not_modified:
        return PollOutcome(key=state.key, status="not_modified")
    status = "new" if result.new or result.updated else "unchanged"
    return PollOutcome(
        key=state.key, status=status, new=len(result.new), updated=len(result.updated)
    )


# -- digests ------------------------------------------------------------------------------

# Used by `digest preview demo` (and `make demo`) when the config names no "demo" subscription.
DEMO_SUBSCRIPTION = SubscriptionConfig(
    id="demo", name="Safeguarding reviews: weekly digest", email=("demo@example.invalid",)
)


def preview_digest(
    archive: Archive,
    config: Config,
    sub_id: str,
    fmt: str,
    since: datetime | None = None,
    now: datetime | None = None,
) -> Rendered:
    """Render what the subscription would receive for items first archived since `since`
    (default: the last 7 days). Sends nothing and changes nothing."""
    from bot import digest, render  # digest code loads only where digests are made

    sub = _subscription(config, sub_id)
    now = now or datetime.now(UTC)
    start = since or now - timedelta(days=7)
    feeds = archive.feeds()
    tags = {f.id: f.tags for f in config.feeds}
    keys = digest.feed_keys(sub, [f.key for f in feeds], tags)
    chosen = [f for f in feeds if keys is None or f.key in keys]
    items = archive.items_first_seen(start, now + timedelta(seconds=1), keys)
    built = digest.build(
        sub, items, {f.key: f.title for f in feeds}, start, now + timedelta(seconds=1)
    )
    if len(chosen) == 1 and chosen[0].link:
        built = replace(built, more_link=chosen[0].link)
    return render.render(built, fmt)


def _subscription(config: Config, sub_id: str) -> SubscriptionConfig:
    if sub_id == "demo" and not any(s.id == "demo" for s in config.subscriptions):
        return DEMO_SUBSCRIPTION
    return config.subscription(sub_id)


# -- delivery -----------------------------------------------------------------------------

RETRY_MIN = 60.0
RETRY_MAX = 6 * 3600.0
GIVE_UP_AFTER = timedelta(days=3)


@dataclass(frozen=True)
class DeliverySummary:
    queued: int = 0
    sent: int = 0
    failed: int = 0
    dead: int = 0
    skipped: tuple[str, ...] = ()  # subscriptions whose destination is not supported yet

    @property
    def line(self) -> str:
        return (
            f"queued {self.queued}, sent {self.sent}, failed {self.failed} (will retry), "
            f"dead {self.dead}"
        )


def due_period(
    schedule: str, timezone: str, start: datetime, now: datetime
) -> tuple[datetime, datetime] | None:
    """The period to send now: from `start` to the latest schedule time that has passed, or
    None. After an outage this is ONE period up to the latest time (never a burst of missed
    weeks); times are computed in the subscription's time zone, so a daylight-saving change
    neither skips nor repeats one."""
    zone = ZoneInfo(timezone)
    trigger = CronTrigger.from_crontab(schedule, timezone=zone)
    latest: datetime | None = None
    # The autumn night repeats an hour: 01:30 happens twice. A schedule time is one wall-clock
    # time, so its second occurrence is not a new period.
    wall = start.astimezone(zone).replace(tzinfo=None)
    probe = start + timedelta(seconds=1)
    for _ in range(100_000):  # a minutely schedule after a long outage still ends
        nxt = trigger.get_next_fire_time(None, probe)
        if nxt is None or nxt > now:
            break
        if nxt < probe:  # inside the repeated hour the trigger can answer a time already past
            probe += timedelta(minutes=30)
            continue
        if nxt.astimezone(zone).replace(tzinfo=None) != wall:
            latest = nxt
            wall = nxt.astimezone(zone).replace(tzinfo=None)
        probe = nxt + timedelta(seconds=1)
    return (start, latest.astimezone(UTC)) if latest is not None else None


def deliver_due(
    archive: Archive,
    config: Config,
    owner: str,
    only: str | None = None,
    now_period: bool = False,
    now: datetime | None = None,
) -> DeliverySummary:
    """Queue the periods that are due (or, with `now_period`, the current one at once), then
    send what the outbox holds. Running it twice sends nothing the second time."""
    from bot import render
    from bot.deliver import smtp

    now = now or datetime.now(UTC)
    subs = [config.subscription(only)] if only else list(config.subscriptions)
    email_subs = [s for s in subs if s.email and s.mode == "digest"]
    skipped = tuple(s.id for s in subs if s not in email_subs)
    states = archive.subscription_states(
        [s.id for s in email_subs], [s.id for s in email_subs if s.backfill]
    )
    queued = 0
    for sub in email_subs:
        created, last_end = states[sub.id]
        start = last_end or created
        period = (start, now) if now_period else due_period(sub.schedule, sub.timezone, start, now)
        if period is None:
            continue
        has_items = bool(_digest_for(archive, config, sub, *period).items)
        queued += archive.queue_period(sub.id, sub.email if has_items else (), *period)
    claimed = archive.claim_deliveries(owner, config.worker.lease, only)
    if claimed and config.smtp is None:
        for d in claimed:
            archive.finish_delivery(
                DeliveryResult(d.id, ok=False, error="no [smtp] section in the config"),
                now + timedelta(seconds=RETRY_MIN),
            )
        raise ConfigError("e-mail deliveries are queued but the config has no [smtp] section")
    sent = failed = dead = 0
    messages = []
    for d in claimed:
        sub = config.subscription(d.subscription)
        built = _digest_for(archive, config, sub, d.period_start, d.period_end)
        text, html = render.render(built, "text"), render.render(built, "html")
        assert config.smtp is not None
        messages.append((d, smtp.build(d, text, html, config.smtp)))
    by_id = {d.id: d for d, _ in messages}
    if messages:
        assert config.smtp is not None
        for result in smtp.send([(d.id, m) for d, m in messages], config.smtp):
            delivery = by_id[result.delivery_id]
            retry_at = None
            if not result.ok and result.retry and now - delivery.period_end < GIVE_UP_AFTER:
                delay = min(RETRY_MAX, RETRY_MIN * 2 ** (delivery.attempts - 1))
                retry_at = now + timedelta(seconds=delay * random.uniform(0.8, 1.2))
            archive.finish_delivery(result, retry_at)
            if result.ok:
                sent += 1
            elif retry_at is not None:
                failed += 1
                log.warning(
                    "delivery_id=%s subscription=%s failed: %s",
                    delivery.id,
                    delivery.subscription,
                    result.error,
                )
            else:
                dead += 1
                log.error(
                    "delivery_id=%s subscription=%s dead: %s",
                    delivery.id,
                    delivery.subscription,
                    result.error,
                )
    return DeliverySummary(queued=queued, sent=sent, failed=failed, dead=dead, skipped=skipped)


def _digest_for(
    archive: Archive, config: Config, sub: SubscriptionConfig, start: datetime, end: datetime
) -> Digest:
    from bot import digest

    feeds = archive.feeds()
    keys = digest.feed_keys(sub, [f.key for f in feeds], {f.id: f.tags for f in config.feeds})
    items = archive.items_first_seen(start, end, keys)
    return digest.build(sub, items, {f.key: f.title for f in feeds}, start, end)
