"""The worker's tick (`reportbot run`, every minute): poll ─► deliver ─► heartbeat.

The CLI only schedules it (bot.scheduler) and owns the servers; what one tick does is here.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from bot import __version__
from bot.archive import Archive
from bot.config import Config
from bot.errors import ReportbotError
from bot.pipeline.deliver import DeliverySummary, deliver_cycle
from bot.pipeline.poll import PollSummary, poll_cycle

if TYPE_CHECKING:
    from bot.metrics import Metrics

log = logging.getLogger("reportbot.worker")


@dataclass(frozen=True)
class TickSummary:
    poll: PollSummary
    delivery: DeliverySummary | None  # None: stopped before it, or it failed (logged)
    heartbeat: bool  # the tick completed and said so in the archive


async def tick(
    archive: Archive,
    config: Config,
    *,
    owner: str,
    started: datetime,
    stop: asyncio.Event,
    metrics: Metrics | None = None,
) -> TickSummary:
    """One tick: poll the due feeds, then send what is due, then record the heartbeat that
    `reportbot health` reads. A stop request (SIGTERM) ends the tick after the poll, without
    a heartbeat. A delivery that cannot run (no [smtp], say) is logged with what to fix and
    polling goes on at the next tick."""
    summary = await poll_cycle(archive, config, owner, stop=stop)
    if summary.outcomes:
        log.info("poll cycle", extra=summary.fields())
    if metrics is not None:
        metrics.observe_poll(summary.outcomes)
    if stop.is_set():
        return TickSummary(poll=summary, delivery=None, heartbeat=False)
    sent: DeliverySummary | None = None
    try:
        sent = await deliver_cycle(archive, config, owner, stop=stop)
    except ReportbotError as exc:
        log.error("delivery cycle failed", extra={"error": str(exc)})
    else:
        if sent.queued or sent.sent or sent.failed or sent.dead or sent.alerts:
            log.info("delivery cycle", extra=asdict(sent))
        if metrics is not None:
            metrics.observe_delivery(asdict(sent))
    archive.heartbeat(owner, __version__, started)
    return TickSummary(poll=summary, delivery=sent, heartbeat=True)
