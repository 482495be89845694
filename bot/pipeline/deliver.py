"""Digests and delivery.

queue    due periods (digest mode) or new items (each mode) ─► archive.queue_period
claim    archive.claim_deliveries (leased; expired leases come back marked uncertain)
render   digest.build ─► render.render (per recipient for e-mail: its unsubscribe link)
send     deliver.smtp (one connection per batch) | deliver.channels (chat, paced)
record   archive.finish_deliveries, only after the send's outcome is known
alerts   archive.events ─► render.render_alerts ─► the admin channel
"""

from __future__ import annotations

import asyncio
import logging
import random
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from email.message import Message
from email.mime.text import MIMEText
from html import escape
from zoneinfo import ZoneInfo

from apscheduler.triggers.cron import CronTrigger

from bot.archive import Archive, Feed
from bot.config import Config, SubscriptionConfig
from bot.errors import ConfigError
from bot.models import Delivery, DeliveryResult, Digest, Rendered, StoredItem

log = logging.getLogger("reportbot.pipeline")


# -- digests ------------------------------------------------------------------------------

# Used by `digest preview demo` (and `make demo`) when the config names no "demo" subscription.
DEMO_SUBSCRIPTION = SubscriptionConfig(
    id="demo", name="Safeguarding reviews: weekly digest", email=("demo@example.org",)
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
    keys = _feed_keys(config, sub, feeds)
    chosen = [f for f in feeds if keys is None or f.key in keys]
    items = archive.items_first_seen(start, now + timedelta(seconds=1), keys)
    built = digest.build(
        sub, items, {f.key: f.title for f in feeds}, start, now + timedelta(seconds=1)
    )
    if len(chosen) == 1 and chosen[0].link:
        built = replace(built, more_link=chosen[0].link)
    return render.render(built, fmt, sub.template)


def _subscription(config: Config, sub_id: str) -> SubscriptionConfig:
    if sub_id == "demo" and not any(s.id == "demo" for s in config.subscriptions):
        return DEMO_SUBSCRIPTION
    return config.subscription(sub_id)


# -- delivery -----------------------------------------------------------------------------

RETRY_MIN = 60.0
RETRY_MAX = 6 * 3600.0
GIVE_UP_AFTER = timedelta(days=3)
MAX_ALERTS = 20  # per admin message; the rest go in the next one
BATCH = 1000  # deliveries leased at a time: a crash leaves at most this many to expire
FLUSH_EVERY = 100  # outcomes recorded per transaction (or every second, if fewer)
NO_SMTP = "no [smtp] section in the config"
# Stands for the recipient's own unsubscribe link while a digest is rendered once for all
# recipients; each message then gets its link put in (rendering is the costly part).
_LINK = "https://unsubscribe.reportbot.invalid/link"


@dataclass(frozen=True)
class DeliverySummary:
    queued: int = 0
    sent: int = 0
    failed: int = 0
    unknown: int = 0
    dead: int = 0
    cancelled: int = 0
    alerts: int = 0

    @property
    def line(self) -> str:
        line = (
            f"queued {self.queued}, sent {self.sent}, failed {self.failed} (will retry), "
            f"dead {self.dead}"
        )
        extras = [
            f"{n} {name}"
            for n, name in (
                (self.unknown, "unknown (sent again later)"),
                (self.cancelled, "cancelled (unsubscribed)"),
                (self.alerts, "admin alerts sent"),
            )
            if n
        ]
        return ", ".join([line, *extras])


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
    """deliver_cycle for callers without an event loop (the CLI)."""
    return asyncio.run(deliver_cycle(archive, config, owner, only, now_period, now))


async def deliver_cycle(
    archive: Archive,
    config: Config,
    owner: str,
    only: str | None = None,
    now_period: bool = False,
    now: datetime | None = None,
    stop: asyncio.Event | None = None,
) -> DeliverySummary:
    """Queue what is due (with `now_period`, the current period at once), send what the
    outbox holds, in leased batches, then the admin alerts. Running it twice sends nothing
    the second time. `stop` ends it between batches (the rest waits in the outbox)."""
    now = now or datetime.now(UTC)
    subs = [config.subscription(only)] if only else list(config.subscriptions)
    queued = _queue(archive, config, subs, now_period, now)
    totals = {"sent": 0, "failed": 0, "unknown": 0, "dead": 0, "cancelled": 0}
    pace: dict[str, float] = {}  # each chat webhook's last post, across batches
    no_smtp = False
    # Every claimed row leaves the due set (sent, retry later, dead, cancelled), so the
    # loop ends; the cap is a guard against a bug turning it into a busy loop.
    for _ in range(10_000):
        if stop is not None and stop.is_set():
            break
        claimed = archive.claim_deliveries(owner, config.worker.lease, only, limit=BATCH)
        if not claimed:
            break
        live, cancelled = _drop_unsubscribed(archive, config, claimed)
        totals["cancelled"] += cancelled
        emails = [d for d in live if d.is_email]
        chats = [d for d in live if not d.is_email]
        recorder = _Recorder(archive, {d.id: d for d in live}, now)
        if emails and config.smtp is None:  # chats still go; the e-mails wait for a fix
            no_smtp = True
            for d in emails:
                recorder.add(DeliveryResult(d.id, ok=False, error=NO_SMTP))
        elif emails:
            await _send_emails(archive, config, emails, recorder.add)
        if chats:
            await _post_chats(archive, config, chats, pace, recorder.add)
        for name, n in recorder.close().items():
            totals[name] += n
    alerts = await _send_alerts(archive, config)
    if no_smtp:
        raise ConfigError("e-mail deliveries are queued but the config has no [smtp] section")
    return DeliverySummary(queued=queued, alerts=alerts, **totals)


def _queue(
    archive: Archive,
    config: Config,
    subs: Sequence[SubscriptionConfig],
    now_period: bool,
    now: datetime,
) -> int:
    from bot import digest

    states = archive.subscription_states([s.id for s in subs], [s.id for s in subs if s.backfill])
    queued = 0
    for sub in subs:
        created, last_end = states[sub.id]
        start = last_end or created
        recipients = sub.email or ((sub.channel.kind,) if sub.channel else ())
        if sub.mode == "each":
            if now <= start:
                continue  # the clock went back: nothing is due until it passes `start`
            chosen = digest.select(sub, _items(archive, config, sub, start, now), start, now)
            # oldest first, so a channel reads them in the order they happened
            ids = [s.id for s in reversed(chosen)]
            queued += archive.queue_period(sub.id, recipients, start, now, items=ids)
            continue
        period = (start, now) if now_period else due_period(sub.schedule, sub.timezone, start, now)
        if period is None:
            continue
        # select, not build: only whether the period holds anything matters here
        has_items = bool(digest.select(sub, _items(archive, config, sub, *period), *period))
        queued += archive.queue_period(sub.id, recipients if has_items else (), *period)
    return queued


def _drop_unsubscribed(
    archive: Archive, config: Config, claimed: Sequence[Delivery]
) -> tuple[list[Delivery], int]:
    """Unsubscribes take effect before the send, even for messages queued before them."""
    gone = archive.unsubscribed()
    configured = {s.id for s in config.subscriptions}
    live: list[Delivery] = []
    for d in claimed:
        if d.subscription not in configured:
            archive.cancel_delivery(d.id, "the subscription is no longer in the config")
        elif d.is_email and d.recipient.lower() in gone.get(d.subscription, set()):
            archive.cancel_delivery(d.id, "unsubscribed")
        else:
            live.append(d)
    return live, len(claimed) - len(live)


async def _send_emails(
    archive: Archive,
    config: Config,
    emails: Sequence[Delivery],
    on_result: Callable[[DeliveryResult], None],
) -> None:
    from bot import render
    from bot.deliver import smtp

    assert config.smtp is not None  # checked by the caller
    secret = config.web.secret() if config.web else b""
    digests = _Digests(archive, config, emails)
    bodies: dict[tuple[str, datetime, datetime, int | None], tuple[Rendered, Rendered]] = {}
    shared: dict[tuple[str, datetime, datetime, int | None], tuple[MIMEText, MIMEText]] = {}
    messages: list[tuple[int, Message]] = []
    for d in emails:
        key = (d.subscription, d.period_start, d.period_end, d.item_id)
        if key not in bodies:
            built = digests.of(d)
            if config.web is not None:
                built = replace(built, unsubscribe=_LINK)
            folder = config.subscription(d.subscription).template
            bodies[key] = render.render(built, "text", folder), render.render(built, "html", folder)
        text, html = bodies[key]
        if config.web is None:  # the same body for every recipient: build it once
            if key not in shared:
                shared[key] = smtp.body_parts(text, html)
            messages.append((d.id, smtp.build(d, text.subject, shared[key], config.smtp)))
            continue
        from bot.web import unsubscribe_link

        one_click = unsubscribe_link(config.web, secret, d.subscription, d.recipient)
        text = replace(text, body=text.body.replace(_LINK, one_click))
        html = replace(html, body=html.body.replace(_LINK, escape(one_click)))
        parts = smtp.body_parts(text, html)
        messages.append((d.id, smtp.build(d, text.subject, parts, config.smtp, one_click)))
    # smtplib blocks; a thread keeps the event loop (and SIGTERM handling) responsive
    await asyncio.to_thread(smtp.send, messages, config.smtp, on_result)


async def _post_chats(
    archive: Archive,
    config: Config,
    chats: Sequence[Delivery],
    pace: dict[str, float],
    on_result: Callable[[DeliveryResult], None],
) -> None:
    from bot import render
    from bot.deliver.channels import ChatJob, post_all

    digests = _Digests(archive, config, chats)
    rendered: dict[tuple[str, datetime, datetime, int | None], Rendered] = {}
    jobs: list[ChatJob] = []
    for d in chats:
        channel = config.subscription(d.subscription).channel
        assert channel is not None  # a chat delivery is only queued for a channel
        try:
            url, secret = channel.url(), channel.secret()
        except ConfigError as exc:  # an unset variable: fixable, so retried later
            on_result(DeliveryResult(d.id, ok=False, error=str(exc)))
            continue
        key = (d.subscription, d.period_start, d.period_end, d.item_id)
        if key not in rendered:
            built = digests.of(d)
            fmt = "json" if channel.kind == "webhook" else channel.kind
            folder = config.subscription(d.subscription).template
            rendered[key] = render.render(built, fmt, folder)
        jobs.append(
            ChatJob(
                delivery_id=d.id,
                kind=channel.kind,
                url=url,
                key=d.key,
                payloads=rendered[key].payloads,
                parts_sent=d.parts_sent,
                secret=secret,
            )
        )
    await post_all(jobs, config.worker.concurrency, pace, on_result)


class _Recorder:
    """Records outcomes as they come in, one transaction per FLUSH_EVERY results or second,
    so a worker killed in the middle of a batch leaves only its last few sends unrecorded
    (those are sent again, marked uncertain). Called from the SMTP threads too."""

    def __init__(self, archive: Archive, claimed: dict[int, Delivery], now: datetime) -> None:
        self.archive, self.claimed, self.now = archive, claimed, now
        self.lock = threading.Lock()
        self.pending: list[DeliveryResult] = []
        self.flushed_at = time.monotonic()
        self.counts = {"sent": 0, "failed": 0, "unknown": 0, "dead": 0}

    def add(self, result: DeliveryResult) -> None:
        with self.lock:
            self.pending.append(result)
            if len(self.pending) < FLUSH_EVERY and time.monotonic() - self.flushed_at < 1.0:
                return
            batch, self.pending, self.flushed_at = self.pending, [], time.monotonic()
        self._flush(batch)

    def close(self) -> dict[str, int]:
        with self.lock:
            batch, self.pending = self.pending, []
        self._flush(batch)
        return self.counts

    def _flush(self, batch: list[DeliveryResult]) -> None:
        if not batch:
            return
        counts = _record(self.archive, self.claimed, batch, self.now)
        with self.lock:
            for name, n in counts.items():
                self.counts[name] += n


def _record(
    archive: Archive,
    claimed: dict[int, Delivery],
    results: Sequence[DeliveryResult],
    now: datetime,
) -> dict[str, int]:
    counts = {"sent": 0, "failed": 0, "unknown": 0, "dead": 0}
    outcomes: list[tuple[DeliveryResult, datetime | None]] = []
    dead: list[str] = []
    for result in results:
        delivery = claimed[result.delivery_id]
        retry_at = None
        retriable = not result.ok and (result.retry or result.unknown)
        if retriable and now - delivery.period_end < GIVE_UP_AFTER:
            delay = min(RETRY_MAX, RETRY_MIN * 2 ** (delivery.attempts - 1))
            delay *= random.uniform(0.8, 1.2)  # jitter: failed sends do not retry in step
            delay = max(delay, min(result.retry_after or 0.0, RETRY_MAX))
            # from the later of the cycle's time and the clock: a retry time already past
            # would be claimed again in this same cycle
            retry_at = max(now, datetime.now(UTC)) + timedelta(seconds=delay)
        outcomes.append((result, retry_at))
        where = {"delivery_id": delivery.id, "subscription": delivery.subscription}
        if result.ok:
            counts["sent"] += 1
        elif retry_at is not None:
            counts["unknown" if result.unknown else "failed"] += 1
            state = "unknown" if result.unknown else "failed"
            log.warning(f"delivery {state}", extra={**where, "error": result.error})
        else:
            counts["dead"] += 1
            log.error("delivery dead", extra={**where, "error": result.error})
            dead.append(
                f"delivery {delivery.id} of subscription {delivery.subscription} to "
                f"{delivery.recipient} gave up after {delivery.attempts} attempts: {result.error}"
            )
    archive.finish_deliveries(outcomes)
    for message in dead:  # after the rows: an alert never names a delivery still in flight
        archive.record_event("delivery_dead", message)
    return counts


async def _send_alerts(archive: Archive, config: Config) -> int:
    """Undelivered admin events to the admin channel; marked delivered only once sent."""
    if config.admin is None:
        return 0
    from bot import render
    from bot.deliver.channels import ChatJob, post_all

    events = archive.events(undelivered_only=True)[:MAX_ALERTS]
    if not events:
        return 0
    try:
        url, secret = config.admin.url(), config.admin.secret()
    except ConfigError as exc:
        log.warning("admin alerts not sent", extra={"error": str(exc)})
        return 0
    alerts = [(e["at"], e["kind"], str(e["message"])[:500]) for e in events]
    payload = render.render_alerts(alerts, config.admin.kind)
    first, last = events[0]["id"], events[-1]["id"]
    job = ChatJob(0, config.admin.kind, url, f"alerts:{first}-{last}", (payload,), secret=secret)
    (result,) = await post_all([job])
    if not result.ok:
        log.warning("admin alerts not sent; tried again next cycle", extra={"error": result.error})
        return 0
    archive.mark_events_delivered([e["id"] for e in events])
    return len(events)


class _Digests:
    """The digests one batch of deliveries carries, each built once: a period's, or one
    item's (`each` mode). Items and feed titles are read once per batch, not per delivery."""

    def __init__(self, archive: Archive, config: Config, batch: Sequence[Delivery]) -> None:
        self.archive, self.config = archive, config
        self.built: dict[tuple[str, datetime, datetime, int | None], Digest] = {}
        wanted = sorted({d.item_id for d in batch if d.item_id is not None})
        self.items = {s.id: s for s in archive.items_by_id(wanted)} if wanted else {}
        self.titles = {f.key: f.title for f in archive.feeds()}

    def of(self, d: Delivery) -> Digest:
        from bot import digest

        key = (d.subscription, d.period_start, d.period_end, d.item_id)
        if key not in self.built:
            sub = self.config.subscription(d.subscription)
            if d.item_id is None:
                self.built[key] = _digest_for(
                    self.archive, self.config, sub, d.period_start, d.period_end
                )
            else:
                found = self.items.get(d.item_id)
                items = [found] if found is not None else []
                first_seen = found.first_seen if found is not None else d.period_start
                each = sub.model_copy(update={"max_items": 1})
                end = first_seen + timedelta(seconds=1)
                self.built[key] = digest.build(each, items, self.titles, first_seen, end)
        return self.built[key]


def _feed_keys(config: Config, sub: SubscriptionConfig, feeds: Sequence[Feed]) -> set[str] | None:
    """The archive's feed keys this subscription reads (None: every feed)."""
    from bot import digest

    tags = {f.id: f.tags for f in config.feeds}
    return digest.feed_keys(sub, [f.key for f in feeds], tags)


def _items(
    archive: Archive,
    config: Config,
    sub: SubscriptionConfig,
    start: datetime,
    end: datetime,
    feeds: Sequence[Feed] | None = None,
) -> list[StoredItem]:
    """The subscription's feeds' items first archived in [start, end)."""
    feeds = archive.feeds() if feeds is None else feeds
    return archive.items_first_seen(start, end, _feed_keys(config, sub, feeds))


def _digest_for(
    archive: Archive, config: Config, sub: SubscriptionConfig, start: datetime, end: datetime
) -> Digest:
    from bot import digest

    feeds = archive.feeds()
    items = _items(archive, config, sub, start, end, feeds)
    return digest.build(sub, items, {f.key: f.title for f in feeds}, start, end)
