"""The worker's tick (`reportbot run`, every minute): reload? ─► poll ─► deliver ─► heartbeat.

The CLI only schedules it (bot.scheduler) and owns the servers; what one tick does is here,
and so is the live reload: each tick (and after SIGHUP) the config file is looked at again; a
changed file that passes the same checks as `config check` replaces the running config, one
with problems is refused with one log line and the old config stays in force.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import threading
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING

from bot import __version__, logs
from bot import config as config_mod
from bot.archive import Archive
from bot.config import Config
from bot.errors import ReportbotError

if TYPE_CHECKING:
    from bot.metrics import Metrics
    from bot.pipeline.deliver import DeliverySummary
    from bot.pipeline.poll import PollSummary

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
    live: LiveConfig | None = None,
) -> TickSummary:
    """One tick: poll the due feeds, then send what is due, then record the heartbeat that
    `reportbot health` reads. A stop request (SIGTERM) ends the tick after the poll, without
    a heartbeat. A delivery that cannot run (no [smtp], say) is logged with what to fix and
    polling goes on at the next tick."""
    # imported here: `status` reads this module's worker rules and must not load the fetcher
    from bot.pipeline.deliver import deliver_cycle
    from bot.pipeline.poll import poll_cycle

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
    archive.heartbeat(
        owner,
        __version__,
        started,
        config_version=live.version if live else None,
        config_loaded_at=live.loaded_at if live else None,
    )
    return TickSummary(poll=summary, delivery=sent, heartbeat=True)


# -- which workers `status` lists ---------------------------------------------------------------

SEEN_WITHIN = timedelta(hours=1)  # a worker that ticked this recently is running
FORGOTTEN_AFTER = timedelta(days=1)  # older than this, it is no longer listed


class Presence(StrEnum):
    RUNNING = "running"
    GONE = "gone"  # stopped or stuck: listed so that the admin sees it went away
    FORGOTTEN = "forgotten"  # not listed (its row stays: `health` reads the newest tick)


def presence(last_tick: datetime, now: datetime) -> Presence:
    """How `status` shows a worker whose last tick was at `last_tick`."""
    age = now - last_tick
    if age <= SEEN_WITHIN:
        return Presence.RUNNING
    return Presence.GONE if age <= FORGOTTEN_AFTER else Presence.FORGOTTEN


# -- live reload ------------------------------------------------------------------------------

# Sections bound at start (the archive connection, the servers): a reload takes the rest and
# says that these wait for a restart.
RESTART_ONLY = ("archive", "web", "metrics")


@dataclass(frozen=True)
class LiveConfig:
    """The config a worker runs, which file content it came from and when it was loaded."""

    config: Config
    version: str  # short hash of the file's bytes ("none": no file, defaults)
    loaded_at: datetime


class Reload(StrEnum):
    KEEP = "keep"  # the file is what is running: nothing to do
    RELOAD = "reload"  # a valid new version: it replaces the running config
    REFUSE = "refuse"  # a new version with problems: log why once, keep the running config
    STILL_REFUSED = "still_refused"  # the version refused before: keep, say nothing again


def reload_decision(
    *, live: str, found: str, problems: int, refused: str | None, asked: bool
) -> Reload:
    """Whether a worker running version `live` takes the file's version `found`, which has
    `problems`. `refused`: the version refused last; `asked`: SIGHUP, which repeats a refusal
    in the log (the admin is looking) but never reloads an unchanged file."""
    if found == live:
        return Reload.KEEP
    if problems:
        return Reload.STILL_REFUSED if found == refused and not asked else Reload.REFUSE
    return Reload.RELOAD


def file_version(data: bytes | None) -> str:
    """A short name for one content of the config file, shown by `status`."""
    return "none" if data is None else hashlib.sha256(data).hexdigest()[:12]


class ConfigWatch:
    """Re-reads the config file when it may have changed (another mtime or size, or a
    SIGHUP) and applies reload_decision. Used by one worker thread; `request` is safe to call
    from a signal handler."""

    def __init__(self, path: Path, first: Config) -> None:
        self.path = path
        self._unreadable = ""
        data, self._stamp = self._read()
        self.live = LiveConfig(first, file_version(data), datetime.now(UTC))
        self._refused: str | None = None
        self._asked = threading.Event()

    def request(self) -> None:
        """Look at the file at the next tick even if its mtime did not change (SIGHUP)."""
        self._asked.set()

    def refresh(self) -> LiveConfig:
        """The config to run this tick: the new file's if it changed and is valid."""
        asked = self._asked.is_set()
        self._asked.clear()
        if not asked and self._stat() == self._stamp:
            return self.live
        data, self._stamp = self._read()
        found = file_version(data)
        problems, new = self._check(data) if found != self.live.version else ([], None)
        verdict = reload_decision(
            live=self.live.version,
            found=found,
            problems=len(problems),
            refused=self._refused,
            asked=asked,
        )
        if verdict is Reload.REFUSE:
            self._refused = found
            more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
            log.error(
                "config refused, the running one stays in force",
                extra={
                    "version": found,
                    "running": self.live.version,
                    "problem": problems[0] + more,
                },
            )
        elif verdict is Reload.RELOAD and new is not None:
            waiting = [n for n in RESTART_ONLY if getattr(new, n) != getattr(self.live.config, n)]
            self._refused = None
            logs.add_secrets(new.secret_values())  # hidden from every log line, as at start
            self.live = LiveConfig(new, found, datetime.now(UTC))
            log.info(
                "config reloaded",
                extra={
                    "version": found,
                    "feeds": len(new.feeds),
                    "restart_needed_for": ",".join(waiting) or "-",
                },
            )
        elif verdict is Reload.KEEP and asked:
            log.info("config unchanged", extra={"version": found})
        return self.live

    def _stat(self) -> tuple[int, int] | None:
        try:
            st = self.path.stat()
        except OSError:
            return None
        return st.st_mtime_ns, st.st_size

    def _read(self) -> tuple[bytes | None, tuple[int, int] | None]:
        """The file's bytes (None: missing or unreadable, kept in self._unreadable)."""
        stamp = self._stat()
        self._unreadable = ""
        try:
            return self.path.read_bytes(), stamp
        except FileNotFoundError:
            return None, None
        except OSError as exc:
            self._unreadable = f"cannot read config file: {exc}"
            return None, None  # no stamp: tried again at the next tick

    def _check(self, data: bytes | None) -> tuple[list[str], Config | None]:
        """The same checks as at start (config.load): every problem, or the config."""
        if data is None:
            return [f"{self.path}: {self._unreadable or 'config file not found'}"], None
        return config_mod.parse(data, self.path)
