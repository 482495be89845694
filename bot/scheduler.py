"""APScheduler 3.x supplies the ticks; the work is pipeline.worker.tick (poll, deliver,
heartbeat). No business logic here.

A tick runs every minute (the first at once); due feeds are claimed from the database, so
several workers can run this same loop. SIGTERM or SIGINT stops within seconds: the running
cycle is cancelled, feeds not yet recorded give their leases back, and an item is either
fully archived or not at all (each feed's result is one transaction).
"""

from __future__ import annotations

import asyncio
import logging
import signal
import threading
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime
from typing import Any

from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.interval import IntervalTrigger

log = logging.getLogger("reportbot.scheduler")


def run_forever(
    cycle: Callable[[asyncio.Event], Coroutine[Any, Any, object]],
    tick_seconds: float = 60.0,
    on_hangup: Callable[[], None] | None = None,
) -> signal.Signals | None:
    """Call `cycle(stop)` on every tick until SIGTERM/SIGINT; ticks never overlap. SIGHUP
    calls `on_hangup` (the worker then re-reads its config at the next tick). Returns the
    signal that stopped it, once the running tick has tidied up."""
    scheduler = BlockingScheduler(timezone=UTC)
    running: dict[str, Any] = {}
    lock = threading.Lock()
    stopped_by: list[signal.Signals] = []
    idle = threading.Event()  # no tick is running
    idle.set()

    def tick() -> None:
        loop = asyncio.new_event_loop()
        stop = asyncio.Event()
        with lock:
            if stopped_by:  # a signal came just before this tick began
                loop.close()
                return
            running["loop"], running["stop"] = loop, stop
            idle.clear()
        try:
            loop.run_until_complete(cycle(stop))
        except asyncio.CancelledError:  # stopped by a signal; the cycle tidied up
            pass
        except Exception:  # a failed tick is logged; the next tick tries again
            log.exception("tick failed")
        finally:
            with lock:
                running.clear()
                idle.set()
            loop.close()

    def on_signal(signum: int, _frame: object) -> None:
        log.info("received %s: stopping", signal.Signals(signum).name)
        with lock:
            stopped_by.append(signal.Signals(signum))
            loop, stop = running.get("loop"), running.get("stop")
        if loop is not None and stop is not None:
            loop.call_soon_threadsafe(stop.set)
            loop.call_soon_threadsafe(_cancel_all, loop)
        scheduler.shutdown(wait=False)

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    if on_hangup is not None:
        hangup = on_hangup  # narrowed for the closure

        def on_sighup(_signum: int, _frame: object) -> None:
            log.info("received SIGHUP: the config is read again at the next tick")
            hangup()

        signal.signal(signal.SIGHUP, on_sighup)
    scheduler.add_job(
        tick,
        IntervalTrigger(seconds=tick_seconds),
        next_run_time=datetime.now(UTC),
        max_instances=1,
        coalesce=True,
        id="poll",
    )
    scheduler.start()
    idle.wait()  # the cancelled tick records its outcomes and gives its leases back
    return stopped_by[0] if stopped_by else None


def _cancel_all(loop: asyncio.AbstractEventLoop) -> None:
    for task in asyncio.all_tasks(loop):
        task.cancel()
