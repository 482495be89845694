"""The parse sandbox: time and memory limits, and a worker replaced after each overrun."""

from __future__ import annotations

import asyncio
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
