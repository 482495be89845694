"""The parse sandbox: time and memory limits, and a worker replaced after each overrun."""

from __future__ import annotations

import asyncio
import os
import time

import pytest

from bot.errors import ParseError
from bot.parse import parse_feed
from bot.sandbox import Sandbox, SandboxError


def test_result_comes_back() -> None:
    async def go() -> int:
        async with Sandbox(workers=1, timeout=10) as box:
            return int(await box.run(abs, -5))

    assert asyncio.run(go()) == 5


def test_task_exception_propagates_as_itself() -> None:
    async def go() -> None:
        async with Sandbox(workers=1, timeout=10) as box:
            await box.run(parse_feed, b"", "empty.xml")

    with pytest.raises(ParseError, match=r"empty\.xml: file is empty"):
        asyncio.run(go())


def test_overrun_is_stopped_and_the_worker_replaced() -> None:
    async def go() -> tuple[float, int]:
        async with Sandbox(workers=1, timeout=1) as box:
            start = time.monotonic()
            with pytest.raises(SandboxError, match="longer than 1 s"):
                await box.run(time.sleep, 30)
            took = time.monotonic() - start
            return took, int(await box.run(abs, -7))  # the replacement works

    took, after = asyncio.run(go())
    assert took < 5 and after == 7


def test_memory_limit() -> None:
    async def go() -> None:
        async with Sandbox(workers=1, timeout=20, memory_mb=256) as box:
            await box.run(bytearray, 2 * 1024**3)

    with pytest.raises(SandboxError, match="memory"):
        asyncio.run(go())


def test_jobs_run_on_all_workers_at_once() -> None:
    async def go() -> float:
        async with Sandbox(workers=2, timeout=10) as box:
            await asyncio.gather(box.run(abs, 1), box.run(abs, 2))  # both workers started
            start = time.monotonic()
            await asyncio.gather(*(box.run(time.sleep, 0.5) for _ in range(4)))
            return time.monotonic() - start

    assert asyncio.run(go()) < 1.5  # four half-second jobs on two workers: about 1 s, not 2


def test_a_worker_that_dies_is_replaced() -> None:
    async def go() -> int:
        async with Sandbox(workers=1, timeout=10) as box:
            with pytest.raises(SandboxError, match="worker died"):
                await box.run(os._exit, 3)
            return int(await box.run(abs, -3))

    assert asyncio.run(go()) == 3


def test_leaving_stops_a_running_job_at_once() -> None:
    async def go() -> tuple[float, BaseException | None]:
        start = time.monotonic()
        async with Sandbox(workers=1, timeout=60) as box:
            task = asyncio.ensure_future(box.run(time.sleep, 30))
            await asyncio.sleep(0.5)
        outcome = await asyncio.gather(task, return_exceptions=True)
        return time.monotonic() - start, outcome[0]

    took, error = asyncio.run(go())
    assert took < 5  # SIGTERM must stop a worker within 10 s
    assert isinstance(error, SandboxError) and "stopping" in str(error)


def test_a_job_whose_caller_gave_up_is_skipped() -> None:
    async def go() -> int:
        async with Sandbox(workers=1, timeout=10) as box:
            first = asyncio.ensure_future(box.run(time.sleep, 0.5))
            await asyncio.sleep(0.1)
            waiting = asyncio.ensure_future(box.run(time.sleep, 30))  # queued behind `first`
            await asyncio.sleep(0.1)
            waiting.cancel()
            await first
            return int(await asyncio.wait_for(box.run(abs, -9), 5))  # not behind a 30 s sleep

    assert asyncio.run(go()) == 9


@pytest.mark.slow
def test_a_slow_start_does_not_count_against_the_first_jobs_time_limit() -> None:
    async def go() -> int:
        # the worker imports this module (2 s) before it says it is ready
        async with Sandbox(workers=1, timeout=1, preload=("tests.sandbox_slow_start",)) as box:
            return int(await box.run(abs, -4))

    assert asyncio.run(go()) == 4
