"""Digests and delivery.

queue    due periods (digest mode) or new items (each mode) ─► archive.queue_period
check    each subscription's preconditions (secrets, [smtp], templates): a failure holds its
         rows pending with the problem as their error, and they are not claimed
claim    archive.claim_deliveries (leased; expired leases come back marked uncertain)
render   digest.build ─► render (e-mail) | channel.render (chat), once per digest
send     deliver.smtp | deliver.channels: every message gets an Outcome, none raises
record   deliver.decide ─► archive.finish_deliveries, as outcomes come in
alerts   archive.events ─► channel.render_alerts ─► the admin channel
sign-ups archive.claim_signup_mails ─► signup.confirmation_email ─► deliver.smtp
         ─► signup.mail_outcome ─► archive.finish_signup_mail (the web site only queues them)
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from html import escape
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from apscheduler.triggers.cron import CronTrigger

from bot.archive import Archive, Feed
from bot.config import Config, SmtpConfig, SubscriptionConfig
from bot.errors import ConfigError, ReportbotError
from bot.models import (
    Delivery,
    DeliveryResult,
    DeliveryState,
    Digest,
    Outcome,
    Rendered,
    Retry,
    StoredItem,
)

if TYPE_CHECKING:
    from bot.deliver.smtp import BodyPart, Outgoing

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
    *,
    fmt: str,
    since: datetime | None = None,
    now: datetime | None = None,
) -> Rendered:
    """Render what the subscription would receive next, as e-mail (html, text) or as a
    platform's payloads (its preview name: slack, teams, discord, json): the period and
    items `digest send` would choose now (its due period, else the one running so far;
    `each` mode: its next item), rendered as it would be (the first address's unsubscribe
    link, a sign-up's when the config lists none). `since` starts the period there
    instead. The "demo" subscription (not in the config) shows the last 7 days. Sends
    nothing and changes nothing."""
    from bot import render
    from bot.deliver.channel import by_preview

    sub = _subscription(config, sub_id)
    now = now or datetime.now(UTC)
    feeds = archive.feeds()
    if sub is DEMO_SUBSCRIPTION:
        start = since or now - timedelta(days=7)
        built = _period_digest(archive, config, sub, start=start, end=now, feeds=feeds)
    else:
        built = _next_digest(archive, config, sub, since=since, now=now, feeds=feeds)
    if fmt in render.EMAIL_FORMATS:
        if config.web is not None:
            from bot.weblinks import unsubscribe_link

            # the first recipient as `_queue` lists them: the config's, then the sign-ups
            # (a public subscription may have only those)
            signed_up = [] if sub.email else [s.address for s in archive.signups(sub.id)]
            first = next(iter((*sub.email, *signed_up)), None)
            if first is not None:
                link = unsubscribe_link(config.web, config.web.secret(), sub.id, first)
                built = replace(built, unsubscribe=link)
        return render.render(built, fmt, sub.template)
    channel = by_preview(fmt)
    if channel is None:
        raise ConfigError(f"unknown format {fmt!r}")
    return channel.render(built, template_dir=sub.template)


def _next_digest(
    archive: Archive,
    config: Config,
    sub: SubscriptionConfig,
    *,
    since: datetime | None,
    now: datetime,
    feeds: Sequence[Feed],
) -> Digest:
    """The subscription's next message, chosen as `_queue` and `_Digests` choose it, from
    the archive's state without writing it (a subscription not seen yet starts now, or at
    its feeds' oldest item with backfill)."""
    from bot import digest

    backfill = {sub.id: _feed_keys(config, sub, feeds)} if sub.backfill else None
    created, last_end = archive.subscription_states([sub.id], backfill=backfill, create=False)[
        sub.id
    ]
    start = since or last_end or created
    if sub.mode == "each":
        found = _items(archive, config, sub, start=start, end=now, feeds=feeds)
        chosen = digest.select(sub, found, start, now)
        titles = {f.key: f.title for f in feeds}
        return _item_digest(
            sub,
            chosen[-1] if chosen else None,
            titles,
            fallback=start,
            public_url=_public_url(config),
        )
    period = (start, now) if since else _period(sub, start=start, now=now, now_period=False)
    start, end = period or (start, now)  # none due yet: the one running so far
    return _period_digest(archive, config, sub, start=start, end=end, feeds=feeds)


def _period(
    sub: SubscriptionConfig, *, start: datetime, now: datetime, now_period: bool
) -> tuple[datetime, datetime] | None:
    """The digest period `digest send` queues now (with --now: everything since `start`)."""
    if now_period:
        return (start, now) if now > start else None
    return due_period(sub.schedule, timezone=sub.timezone, start=start, now=now)


def _period_digest(
    archive: Archive,
    config: Config,
    sub: SubscriptionConfig,
    *,
    start: datetime,
    end: datetime,
    feeds: Sequence[Feed],
) -> Digest:
    """A digest period's message: the items `_items` and digest.build choose, and, for a
    subscription of one feed, that feed's page as where the rest can be read."""
    from bot import digest

    items = _items(archive, config, sub, start=start, end=end, feeds=feeds)
    titles = {f.key: f.title for f in feeds}
    built = digest.build(
        sub, items, feed_titles=titles, start=start, end=end, public_url=_public_url(config)
    )
    keys = _feed_keys(config, sub, feeds)
    chosen = [f for f in feeds if keys is None or f.key in keys]
    if len(chosen) == 1 and chosen[0].link:
        built = replace(built, more_link=chosen[0].link)
    return built


def _item_digest(
    sub: SubscriptionConfig,
    found: StoredItem | None,
    titles: Mapping[str, str],
    *,
    fallback: datetime,
    public_url: str,
) -> Digest:
    """An `each` subscription's message about one item."""
    from bot import digest

    items = [found] if found is not None else []
    start = found.first_seen if found is not None else fallback
    end = start + timedelta(seconds=1)
    one = sub.model_copy(update={"max_items": 1})
    return digest.build(
        one, items, feed_titles=titles, start=start, end=end, public_url=public_url
    )


def _subscription(config: Config, sub_id: str) -> SubscriptionConfig:
    if sub_id == "demo" and not any(s.id == "demo" for s in config.subscriptions):
        return DEMO_SUBSCRIPTION
    return config.subscription(sub_id)


# -- delivery -----------------------------------------------------------------------------

MAX_ALERTS = 20  # per admin message; the rest go in the next one
BATCH = 1000  # deliveries leased at a time: a crash leaves at most this many to expire
FLUSH_EVERY = 100  # outcomes recorded per transaction (or every second, if fewer)
NO_SMTP = "no [smtp] section in the config"
# Stands for the recipient's own unsubscribe link while a digest is rendered once for all
# recipients; each message then gets its link put in (rendering is the costly part).
_LINK = "https://unsubscribe.reportbot.invalid/link"
_COUNTED = {
    DeliveryState.SENT: "sent",
    DeliveryState.FAILED: "failed",
    DeliveryState.UNKNOWN: "unknown",
    DeliveryState.DEAD: "dead",
}


@dataclass(frozen=True)
class DeliverySummary:
    queued: int = 0
    sent: int = 0
    failed: int = 0
    unknown: int = 0
    dead: int = 0
    cancelled: int = 0
    alerts: int = 0
    held: int = 0  # waiting for a failed precondition to be fixed (see `problems`)
    problems: tuple[str, ...] = ()

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
                (self.held, "held (see below)"),
            )
            if n
        ]
        return ", ".join([line, *extras])


def due_period(
    schedule: str, *, timezone: str, start: datetime, now: datetime
) -> tuple[datetime, datetime] | None:
    """The period to send now: from `start` to the latest schedule time that has passed, or
    None. After an outage (or from a backfill's first item, years back) this is ONE period
    up to the latest time, found directly rather than by walking the schedule.

    Schedule times are wall-clock times in the subscription's zone: the autumn night's
    repeated 01:30 is one time, not two periods, and a time the spring night skips counts
    at the same wall time's earlier reading (so it is never in the future)."""
    zone = ZoneInfo(timezone)
    # On a clock without daylight saving (wall time read as UTC) the schedule's times only
    # grow, so the latest one up to now is a bisection away.
    trigger = CronTrigger.from_crontab(schedule, timezone=UTC)

    def wall(at: datetime) -> datetime:
        return at.astimezone(zone).replace(tzinfo=UTC)

    def next_fire(at: datetime) -> datetime | None:
        fire: datetime | None = trigger.get_next_fire_time(None, at)
        return fire

    low, limit = wall(start) + timedelta(seconds=1), wall(now)
    first = next_fire(low)
    if first is None or first > limit:
        return None
    # a fire time at or before `limit` follows `low`; none follows `high`
    high = limit + timedelta(seconds=1)
    while high - low > timedelta(seconds=1):  # schedule times are whole seconds apart
        middle = low + (high - low) / 2
        fire = next_fire(middle)
        if fire is not None and fire <= limit:
            low = middle
        else:
            high = middle
    latest = next_fire(low)
    assert latest is not None and latest <= limit
    naive = latest.replace(tzinfo=None)
    end = min(naive.replace(tzinfo=zone, fold=fold).astimezone(UTC) for fold in (0, 1))
    return (start, end) if end > start else None


def deliver_due(
    archive: Archive,
    config: Config,
    owner: str,
    *,
    only: str | None = None,
    now_period: bool = False,
    now: datetime | None = None,
) -> DeliverySummary:
    """deliver_cycle for callers without an event loop (the CLI)."""
    return asyncio.run(
        deliver_cycle(archive, config, owner, only=only, now_period=now_period, now=now)
    )


async def deliver_cycle(
    archive: Archive,
    config: Config,
    owner: str,
    *,
    only: str | None = None,
    now_period: bool = False,
    now: datetime | None = None,
    stop: asyncio.Event | None = None,
) -> DeliverySummary:
    """Queue what is due (with `now_period`, the current period at once), hold back the
    subscriptions whose preconditions fail, send what the outbox holds for the rest in
    leased batches, then the admin alerts. Running it twice sends nothing the second time.
    `stop` ends it between batches (the rest waits in the outbox). Raises only for the
    archive's own trouble: each message's failure is its outcome, recorded."""
    now = now or datetime.now(UTC)
    subs = [config.subscription(only)] if only else list(config.subscriptions)
    queued = _queue(archive, config, subs=subs, now_period=now_period, now=now)
    problems = _preconditions(config, subs)
    held = archive.hold_deliveries(problems)
    for sub_id, n in held.items():  # a problem with nothing waiting is no one's concern yet
        extra = {"subscription": sub_id, "held": n, "error": problems[sub_id]}
        log.error("deliveries held", extra=extra)
    totals = dict.fromkeys(("sent", "failed", "unknown", "dead", "cancelled"), 0)
    pace: dict[str, float] = {}  # each chat webhook's last post, across batches
    # Every claimed row leaves the due set (sent, retry later, dead, cancelled), so the
    # loop ends; the cap is a guard against a bug turning it into a busy loop.
    for _ in range(10_000):
        if stop is not None and stop.is_set():
            break
        claimed = archive.claim_deliveries(
            owner, config.worker.lease, subscription=only, skip=problems, limit=BATCH
        )
        if not claimed:
            break
        live, cancelled = _drop_unsubscribed(archive, config, claimed)
        totals["cancelled"] += cancelled
        recorder = _Recorder(archive, {d.id: d for d in live}, now)
        try:
            emails = [d for d in live if d.is_email]
            chats = [d for d in live if not d.is_email]
            if emails:
                await _send_emails(archive, config, emails=emails, on_result=recorder.add)
            if chats:
                await _post_chats(
                    archive, config, chats=chats, pace=pace, on_result=recorder.add
                )
        finally:
            # also when cancelled (Ctrl-C, SIGTERM): what was sent or may have been is
            # recorded now, and the rows not yet tried go back to pending, without a lease
            # to wait out or an `uncertain` they do not deserve
            for name, n in recorder.close().items():
                totals[name] += n
            released = archive.release_deliveries(recorder.unanswered())
            if released:
                log.info("deliveries given back", extra={"count": released})
    await _send_signup_mails(archive, config)
    alerts = await _send_alerts(archive, config)
    shown = tuple(f"{sub_id}: {problems[sub_id]}" for sub_id in held)
    return DeliverySummary(
        queued=queued, alerts=alerts, held=sum(held.values()), problems=shown, **totals
    )


def _queue(
    archive: Archive,
    config: Config,
    *,
    subs: Sequence[SubscriptionConfig],
    now_period: bool,
    now: datetime,
) -> int:
    from bot import digest, signup

    feeds = archive.feeds()
    backfill = {s.id: _feed_keys(config, s, feeds) for s in subs if s.backfill}
    states = archive.subscription_states([s.id for s in subs], backfill=backfill)
    # Subscriptions over the same feeds and period read the same items: once, not once each
    # (a hundred channels created together, in `each` mode, read one window every cycle).
    read: dict[tuple[datetime, datetime, frozenset[str] | None], list[StoredItem]] = {}

    def items(sub: SubscriptionConfig, start: datetime, end: datetime) -> list[StoredItem]:
        keys = _feed_keys(config, sub, feeds)
        window = (start, end, None if keys is None else frozenset(keys))
        if window not in read:
            read[window] = archive.items_first_seen(start, end, keys)
        return read[window]

    signed_up: dict[str, list[str]] = {}
    for found_signup in archive.signups():
        signed_up.setdefault(found_signup.subscription, []).append(found_signup.address)
    queued = 0
    for sub in subs:
        created, last_end = states[sub.id]
        start = last_end or created
        recipients: Sequence[str] = (
            (sub.channel.kind.value,)
            if sub.channel
            else signup.recipients(sub.email, signed_up.get(sub.id, []))
        )
        if sub.mode == "each":
            if now <= start:
                continue  # the clock went back: nothing is due until it passes `start`
            chosen = digest.select(sub, items(sub, start, now), start, now)
            # oldest first, so a channel reads them in the order they happened
            ids = [s.id for s in reversed(chosen)]
            queued += archive.queue_period(sub.id, recipients, start, now, items=ids)
            continue
        period = _period(sub, start=start, now=now, now_period=now_period)
        if period is None:
            continue
        # select, not build: only whether the period holds anything matters here
        has_items = bool(digest.select(sub, items(sub, *period), *period))
        queued += archive.queue_period(sub.id, recipients if has_items else (), *period)
    return queued


def _preconditions(config: Config, subs: Sequence[SubscriptionConfig]) -> dict[str, str]:
    """What stops each subscription's messages before any is claimed: its destination's
    secrets and settings, and its templates. {subscription id: the problem}."""
    problems: dict[str, str] = {}
    for sub in subs:
        try:
            _check(config, sub)
        except ReportbotError as exc:
            problems[sub.id] = str(exc)
        except Exception as exc:  # a check that broke is a problem too, not a crash
            problems[sub.id] = f"{type(exc).__name__}: {exc}"
    return problems


def _check(config: Config, sub: SubscriptionConfig) -> None:
    from bot import render
    from bot.deliver.channel import channel

    if sub.channel is not None:
        sub.channel.url()
        sub.channel.secret()
        channel(sub.channel.kind).check(template_dir=sub.template)
        return
    if config.smtp is None:
        raise ConfigError(NO_SMTP)
    if config.smtp.user:
        config.smtp.password()
    if config.web is not None:
        config.web.secret()
    render.check_templates(render.EMAIL_TEMPLATES, template_dir=sub.template)


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


def _unsent(what: str, exc: Exception) -> Outcome:
    """A message that failed before any of it left (rendering it, say): tried again."""
    return Retry(f"{what}: {type(exc).__name__}: {exc}")


async def _send_emails(
    archive: Archive,
    config: Config,
    *,
    emails: Sequence[Delivery],
    on_result: Callable[[DeliveryResult], None],
) -> None:
    assert config.smtp is not None  # a precondition of every e-mail subscription
    outgoing = _Emails(archive, config, emails)
    messages: list[Outgoing] = []
    for d in emails:
        try:
            messages.append(outgoing.of(d))
        except Exception as exc:  # one message's trouble: the others still go
            on_result(DeliveryResult(d.id, _unsent("cannot render the e-mail", exc)))
    await _send_stoppable(messages, config.smtp, on_result=on_result)


async def _send_stoppable(
    messages: Sequence[Outgoing],
    cfg: SmtpConfig,
    *,
    on_result: Callable[[DeliveryResult], None],
) -> None:
    """smtp.send in a thread that ends with the await: cancelled (Ctrl-C, SIGTERM), no
    message is begun any more and the one in flight gets its outcome (Unknown); the
    messages not begun get none, for the caller to give back."""
    from bot.deliver import smtp

    # smtplib blocks; a thread keeps the event loop (and SIGTERM handling) responsive.
    # Not asyncio.to_thread: a cancelled await would leave the thread sending on its own.
    stop = smtp.Stop()
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="smtp-batch") as pool:
        sending = pool.submit(smtp.send, messages, cfg, on_result, stop)
        try:
            await asyncio.wrap_future(sending)
        except asyncio.CancelledError:
            # no message is begun from now on, and the connections in use are shut (again
            # until the thread ends: one may connect meanwhile), so this wait is short
            stop.set()
            while not _finished(sending, within=0.1):
                stop.shut()
            raise


def _finished(future: Future[Any], *, within: float) -> bool:
    try:
        future.exception(timeout=within)
    except FutureTimeout:
        return False
    return True


class _Emails:
    """Each e-mail of a batch: a digest rendered once for all its recipients (and its body
    parts built once when every recipient gets the same body, without [web])."""

    def __init__(self, archive: Archive, config: Config, batch: Sequence[Delivery]) -> None:
        assert config.smtp is not None
        self.config, self.smtp = config, config.smtp
        self.digests = _Digests(archive, config, batch)
        self.bodies: dict[_Key, tuple[Rendered, Rendered]] = {}
        self.shared: dict[_Key, tuple[BodyPart, BodyPart]] = {}

    def of(self, d: Delivery) -> Outgoing:
        from bot import render
        from bot.deliver import smtp

        key = _key(d)
        if key not in self.bodies:
            built = self.digests.of(d)
            if self.config.web is not None:
                built = replace(built, unsubscribe=_LINK)
            folder = self.config.subscription(d.subscription).template
            text, html = render.render(built, "text", folder), render.render(built, "html", folder)
            self.bodies[key] = text, html
        text, html = self.bodies[key]
        if self.config.web is None:  # the same body for every recipient: build it once
            if key not in self.shared:
                self.shared[key] = smtp.body_parts(text, html)
            parts = self.shared[key]
            return smtp.build(d, subject=text.subject, parts=parts, cfg=self.smtp)
        from bot.weblinks import unsubscribe_link

        secret = self.config.web.secret()  # a precondition, so it is there
        one_click = unsubscribe_link(self.config.web, secret, d.subscription, d.recipient)
        text = replace(text, body=text.body.replace(_LINK, one_click))
        html = replace(html, body=html.body.replace(_LINK, escape(one_click)))
        parts = smtp.body_parts(text, html)
        return smtp.build(d, subject=text.subject, parts=parts, cfg=self.smtp, one_click=one_click)


async def _post_chats(
    archive: Archive,
    config: Config,
    *,
    chats: Sequence[Delivery],
    pace: dict[str, float],
    on_result: Callable[[DeliveryResult], None],
) -> None:
    from bot.deliver.channel import channel as platform
    from bot.deliver.channels import ChatJob, post_all

    digests = _Digests(archive, config, chats)
    rendered: dict[_Key, Rendered] = {}
    jobs: list[ChatJob] = []
    for d in chats:
        sub = config.subscription(d.subscription)
        assert sub.channel is not None  # a chat delivery is only queued for a channel
        target = platform(sub.channel.kind)
        try:
            url, secret = sub.channel.url(), sub.channel.secret()  # checked: a precondition
            key = _key(d)
            if key not in rendered:
                rendered[key] = target.render(digests.of(d), template_dir=sub.template)
        except Exception as exc:  # one message's trouble: the others still go
            on_result(DeliveryResult(d.id, _unsent(f"{target.name}: cannot render", exc)))
            continue
        job = ChatJob(
            delivery_id=d.id,
            channel=target,
            url=url,
            key=d.key,
            payloads=rendered[key].payloads,
            parts_sent=d.parts_sent,
            secret=secret,
        )
        jobs.append(job)
    await post_all(jobs, concurrency=config.worker.concurrency, pace=pace, on_result=on_result)


class _Recorder:
    """Records outcomes as they come in, one transaction per FLUSH_EVERY results or second,
    so a worker killed in the middle of a batch leaves only its last few sends unrecorded
    (those are sent again, marked uncertain). Called from the SMTP threads too."""

    def __init__(self, archive: Archive, claimed: dict[int, Delivery], now: datetime) -> None:
        self.archive, self.claimed, self.now = archive, claimed, now
        self.lock = threading.Lock()
        self.pending: list[DeliveryResult] = []
        self.answered: set[int] = set()
        self.flushed_at = time.monotonic()
        self.counts = dict.fromkeys(_COUNTED.values(), 0)

    def add(self, result: DeliveryResult) -> None:
        with self.lock:
            self.answered.add(result.delivery_id)
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

    def unanswered(self) -> list[Delivery]:
        """The claimed deliveries without an outcome: not tried (the send was stopped)."""
        with self.lock:
            return [d for i, d in self.claimed.items() if i not in self.answered]

    def _flush(self, batch: list[DeliveryResult]) -> None:
        if not batch:
            return
        counts = _record(self.archive, claimed=self.claimed, results=batch, now=self.now)
        with self.lock:
            for name, n in counts.items():
                self.counts[name] += n


def _record(
    archive: Archive,
    *,
    claimed: Mapping[int, Delivery],
    results: Sequence[DeliveryResult],
    now: datetime,
) -> dict[str, int]:
    from bot.deliver.decide import decide, when_next

    # from the later of the cycle's time and the clock: a retry time already past would be
    # claimed again in this same cycle
    now = max(now, datetime.now(UTC))
    counts = dict.fromkeys(_COUNTED.values(), 0)
    finished = []
    dead: list[str] = []
    for result in results:
        delivery = claimed[result.delivery_id]
        finish = decide(delivery, result, now=now)
        finished.append(finish)
        counts[_COUNTED[finish.state]] += 1
        where = {"delivery_id": delivery.id, "subscription": delivery.subscription}
        what = when_next(finish.state, attempts=delivery.attempts, retry_at=finish.retry_at)
        if finish.state is DeliveryState.DEAD:
            log.error("delivery dead", extra={**where, "error": finish.error, "next": what})
            dead.append(
                f"delivery {delivery.id} of subscription {delivery.subscription} to "
                f"{delivery.recipient} gave up after {delivery.attempts} attempts: {finish.error}"
            )
        elif finish.state is not DeliveryState.SENT:
            extra = {**where, "error": finish.error, "next": what}
            log.warning(f"delivery {finish.state}", extra=extra)
    late = archive.finish_deliveries(finished)
    if late:  # the lease ran out mid-send and another worker took the rows over
        log.warning("outcomes recorded too late", extra={"count": late})
    for message in dead:  # after the rows: an alert never names a delivery still in flight
        archive.record_event("delivery_dead", message)
    return counts


async def _send_alerts(archive: Archive, config: Config) -> int:
    """Undelivered admin events to the admin channel; marked delivered only once sent."""
    if config.admin is None:
        return 0
    from bot.deliver.channel import channel
    from bot.deliver.channels import ChatJob, post_all
    from bot.models import Sent

    events = archive.events(undelivered_only=True)[:MAX_ALERTS]
    if not events:
        return 0
    try:
        url, secret = config.admin.url(), config.admin.secret()
    except ConfigError as exc:
        log.warning("admin alerts not sent", extra={"error": str(exc)})
        return 0
    target = channel(config.admin.kind)
    alerts = [(e.at, e.kind, e.message[:500]) for e in events]
    first, last = events[0].id, events[-1].id
    job = ChatJob(
        delivery_id=0,
        channel=target,
        url=url,
        key=f"alerts:{first}-{last}",
        payloads=(target.render_alerts(alerts),),
        secret=secret,
    )
    (result,) = await post_all([job])
    if not isinstance(result.outcome, Sent):
        error = repr(result.outcome)
        log.warning("admin alerts not sent; tried again next cycle", extra={"error": error})
        return 0
    archive.mark_events_delivered([e.id for e in events])
    return len(events)


async def _send_signup_mails(archive: Archive, config: Config) -> int:
    """The confirmation e-mails the web site queued, each a message of its own. They wait
    (pending) while [smtp] or [web] is missing or its key unset. Returns how many went."""
    from bot import signup
    from bot.deliver import smtp
    from bot.models import MailState

    if config.smtp is None or config.web is None:
        return 0
    try:
        secret = config.web.secret()
    except ConfigError as exc:
        log.warning("confirmation e-mails not sent", extra={"error": str(exc)})
        return 0
    mails = archive.claim_signup_mails(config.worker.lease)
    if not mails:
        return 0
    names = {s.id: s.name or s.id for s in config.subscriptions if s.public}
    public_url = config.web.public_url
    now = datetime.now(UTC)
    outgoing: list[Outgoing] = []
    for mail in mails:
        if mail.subscription not in names:  # its link would not work: the page would refuse it
            error = "the subscription is no longer public (or no longer in the config)"
            archive.finish_signup_mail(mail.id, MailState.DEAD, error=error)
            continue
        confirm = signup.link(
            public_url,
            "/subscribe/confirm",
            signup.confirm_token(secret, mail.subscription, mail.recipient),
        )
        manage = signup.link(
            public_url, "/subscribe/manage", signup.manage_token(secret, mail.recipient)
        )
        text, html = signup.confirmation_email(
            title=names[mail.subscription], confirm=confirm, manage=manage
        )
        outgoing.append(
            smtp.build_notice(
                mail.id,
                mail.recipient,
                key=f"signup:{mail.id}",
                subject=text.subject,
                parts=smtp.body_parts(text, html),
                cfg=config.smtp,
                date=now,
            )
        )
    if not outgoing:
        return 0
    attempts = {m.id: m.attempts for m in mails}
    # each mail's recorded state; set from the sending lanes (one item per call: no lock)
    answered: dict[int, MailState] = {}

    def record(result: DeliveryResult) -> None:  # as each is answered
        state, retry_at, error = signup.mail_outcome(
            result.outcome, attempts=attempts[result.delivery_id], now=now
        )
        archive.finish_signup_mail(result.delivery_id, state, error=error, retry_at=retry_at)
        answered[result.delivery_id] = state
        if state is not MailState.SENT:
            log.warning(f"confirmation e-mail {state}", extra={"error": error})

    try:
        await _send_stoppable(outgoing, config.smtp, on_result=record)
    finally:
        # also when cancelled: the mails not begun go back to pending now, not after the
        # lease (and are not sent twice by a worker that finds the lease expired)
        archive.release_signup_mails(
            [(m.id, m.attempts) for m in mails if m.id not in answered and m.subscription in names]
        )
    return sum(state is MailState.SENT for state in answered.values())


_Key = tuple[str, datetime, datetime, int | None]


def _key(d: Delivery) -> _Key:
    """The deliveries that carry the same digest share this."""
    return (d.subscription, d.period_start, d.period_end, d.item_id)


class _Digests:
    """The digests one batch of deliveries carries, each built once: a period's, or one
    item's (`each` mode). Items and feed titles are read once per batch, not per delivery."""

    def __init__(self, archive: Archive, config: Config, batch: Sequence[Delivery]) -> None:
        self.archive, self.config = archive, config
        self.built: dict[_Key, Digest] = {}
        wanted = sorted({d.item_id for d in batch if d.item_id is not None})
        self.items = {s.id: s for s in archive.items_by_id(wanted)} if wanted else {}
        self.feeds = archive.feeds()
        self.titles = {f.key: f.title for f in self.feeds}

    def of(self, d: Delivery) -> Digest:

        key = _key(d)
        if key not in self.built:
            sub = self.config.subscription(d.subscription)
            if d.item_id is None:
                self.built[key] = _period_digest(
                    self.archive,
                    self.config,
                    sub,
                    start=d.period_start,
                    end=d.period_end,
                    feeds=self.feeds,
                )
            else:
                found = self.items.get(d.item_id)
                self.built[key] = _item_digest(
                    sub,
                    found,
                    self.titles,
                    fallback=d.period_start,
                    public_url=_public_url(self.config),
                )
        return self.built[key]


def _public_url(config: Config) -> str:
    """Where the web site's item pages are, for the digests' links ("" without [web])."""
    return config.web.public_url if config.web is not None else ""


def _feed_keys(config: Config, sub: SubscriptionConfig, feeds: Sequence[Feed]) -> set[str] | None:
    """The archive's feed keys this subscription reads (None: every feed)."""
    from bot import digest

    tags = {f.id: f.tags for f in config.feeds}
    return digest.feed_keys(sub, [f.key for f in feeds], tags)


def _items(
    archive: Archive,
    config: Config,
    sub: SubscriptionConfig,
    *,
    start: datetime,
    end: datetime,
    feeds: Sequence[Feed] | None = None,
) -> list[StoredItem]:
    """The subscription's feeds' items first archived in [start, end)."""
    feeds = archive.feeds() if feeds is None else feeds
    return archive.items_first_seen(start, end, _feed_keys(config, sub, feeds))
