"""Run untrusted-input work (feed parsing, extraction) in worker processes with limits.

feedparser can be made to spend seconds on a crafted 60 KB feed (its author regex, issue
#562) or to allocate without bound; a hostile feed must not stall or kill the poller. Each
worker process has an address-space limit (RLIMIT_AS), every call a time limit; a worker that
overruns is killed and replaced, and the caller gets a one-line error.

concurrent.futures cannot kill one task's process, so this small pool is written by hand.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import multiprocessing.connection
import resource
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from multiprocessing.process import BaseProcess
from typing import Any

_CONTEXT = multiprocessing.get_context("forkserver")


class SandboxError(Exception):
    """The call did not finish: time or memory limit, or the worker died."""


def _serve(conn: multiprocessing.connection.Connection, memory_bytes: int) -> None:
    resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))
    while True:
        try:
            fn, args = conn.recv()
        except (EOFError, KeyboardInterrupt):
            return
        try:
            conn.send(("ok", fn(*args)))
        except MemoryError:
            conn.send(("error", "ran out of memory (the worker's limit)"))
        except Exception as exc:
            conn.send(("raised", exc))


class _Worker:
    def __init__(self, memory_bytes: int) -> None:
        self.memory_bytes = memory_bytes
        self.conn, child = _CONTEXT.Pipe()
        self.process: BaseProcess = _CONTEXT.Process(
            target=_serve, args=(child, memory_bytes), daemon=True
        )
        self.process.start()
        child.close()

    def call(self, fn: Callable[..., Any], args: tuple[Any, ...], timeout: float) -> Any:
        self.conn.send((fn, args))
        if not self.conn.poll(timeout):
            raise TimeoutError
        status, value = self.conn.recv()
        if status == "raised":
            raise value
        if status == "error":
            raise SandboxError(value)
        return value

    def kill(self) -> None:
        self.process.kill()
        self.process.join(5)
        self.conn.close()


class Sandbox:
    """A pool of limited worker processes. Use as an async context manager."""

    def __init__(self, workers: int = 2, timeout: float = 20.0, memory_mb: int = 1024) -> None:
        self.size = max(1, workers)
        self.timeout = timeout
        self.memory_bytes = memory_mb * 1024 * 1024
        self._idle: asyncio.Queue[_Worker] = asyncio.Queue()
        self._started = 0
        self._starting = asyncio.Lock()
        self._threads = ThreadPoolExecutor(max_workers=self.size, thread_name_prefix="sandbox")

    async def __aenter__(self) -> Sandbox:
        return self  # workers start on first use: a cycle of 304s never needs one

    async def __aexit__(self, *exc: object) -> None:
        while not self._idle.empty():
            self._idle.get_nowait().kill()
        self._threads.shutdown(wait=False, cancel_futures=True)

    async def run(self, fn: Callable[..., Any], *args: Any) -> Any:
        """fn(*args) in a worker; its own exceptions propagate, limits raise SandboxError."""
        loop = asyncio.get_running_loop()
        async with self._starting:
            if self._started < self.size and self._idle.empty():
                self._started += 1
                self._idle.put_nowait(
                    await loop.run_in_executor(self._threads, _Worker, self.memory_bytes)
                )
        worker = await self._idle.get()
        try:
            result = await loop.run_in_executor(self._threads, worker.call, fn, args, self.timeout)
        except TimeoutError:
            worker = await self._replace(worker)
            raise SandboxError(f"took longer than {self.timeout:.0f} s; stopped") from None
        except (EOFError, OSError, BrokenPipeError):
            worker = await self._replace(worker)
            raise SandboxError("the worker process died (memory limit?)") from None
        finally:
            self._idle.put_nowait(worker)
        return result

    async def _replace(self, worker: _Worker) -> _Worker:
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(self._threads, worker.kill)
        return await loop.run_in_executor(self._threads, _Worker, self.memory_bytes)
