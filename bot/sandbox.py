"""Run untrusted-input work (feed parsing, extraction) in worker processes with limits.

feedparser can be made to spend seconds on a crafted 60 KB feed (its author regex, issue
#562) or to allocate without bound; a hostile feed must not stall or kill the poller. Each
worker process has an address-space limit (RLIMIT_AS), every call a time limit; a worker that
overruns is killed and replaced, and the caller gets a one-line error.

concurrent.futures cannot kill one task's process, so this small pool is written by hand.
"""

from __future__ import annotations

import asyncio
import importlib
import multiprocessing
import multiprocessing.connection
import queue
import resource
import signal
import threading
from collections.abc import Callable
from concurrent.futures import Future
from multiprocessing.process import BaseProcess
from typing import Any

_CONTEXT = multiprocessing.get_context("forkserver")
_STARTUP_SECONDS = 60.0


class SandboxError(Exception):
    """The call did not finish: time or memory limit, or the worker died."""


def _serve(
    conn: multiprocessing.connection.Connection, memory_bytes: int, preload: tuple[str, ...]
) -> None:
    # Ctrl-C reaches the whole process group: the parent decides what stops (it ends its
    # workers by closing their pipe or killing them), and a worker must not print a
    # KeyboardInterrupt traceback of its own.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # The jobs' modules are imported before the first job and before the limit: a job's
    # time limit is for the job, not for starting Python and importing lxml.
    for name in preload:
        importlib.import_module(name)
    resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))
    conn.send(("ready", None))
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
    def __init__(self, memory_bytes: int, preload: tuple[str, ...]) -> None:
        self.memory_bytes = memory_bytes
        self.conn, child = _CONTEXT.Pipe()
        self.process: BaseProcess = _CONTEXT.Process(
            target=_serve, args=(child, memory_bytes, preload), daemon=True
        )
        self.process.start()
        child.close()

    def wait_ready(self) -> None:
        """Wait for the worker to be ready: a busy machine can take seconds to start it,
        which must not count against the first job's time limit."""
        if not self.conn.poll(_STARTUP_SECONDS):
            raise OSError(f"the worker did not start within {_STARTUP_SECONDS:.0f} s")
        self.conn.recv()

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
    """A pool of limited worker processes. Use as an async context manager.

    Each worker process has a thread of its own that takes the next job from a queue, sends
    it, waits for the answer and sets the job's future (its result or exception). Jobs
    therefore flow to the workers while the event loop is busy elsewhere (writing a feed to
    the archive): when the loop itself handed each job over, workers sat idle for 29% of a
    cold cycle."""

    def __init__(
        self,
        *,
        workers: int = 2,
        timeout: float = 20.0,
        memory_mb: int = 1024,
        preload: tuple[str, ...] = (),
    ) -> None:
        self.size = max(1, workers)
        self.timeout = timeout
        self.memory_bytes = memory_mb * 1024 * 1024
        self.preload = preload  # modules the jobs' functions live in
        # The fork server imports them too, once: every worker forked from it then starts
        # with them loaded (a poll cycle starts its workers afresh). Effective only before
        # the fork server starts, which is at the first worker; later, workers import them.
        _CONTEXT.set_forkserver_preload(["__main__", *preload])
        self._jobs: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._threads: list[threading.Thread] = []
        self._workers: dict[int, _Worker] = {}  # by thread number, for closing
        self._pending = 0
        self._closing = False

    async def __aenter__(self) -> Sandbox:
        return self  # workers start on first use: a cycle of 304s never needs one

    async def __aexit__(self, *exc: object) -> None:
        self._closing = True
        for _ in self._threads:
            self._jobs.put(None)
        for worker in list(self._workers.values()):
            worker.process.kill()  # a job still running ends now; its thread then exits
        if self._threads:  # a cycle of 304s started none: no thread to join them in either
            await asyncio.to_thread(self._join)

    def _join(self) -> None:
        for thread in self._threads:
            thread.join(10)

    async def run(self, fn: Callable[..., Any], *args: Any) -> Any:
        """fn(*args) in a worker; its own exceptions propagate, limits raise SandboxError."""
        self._pending += 1
        try:
            if len(self._threads) < min(self.size, self._pending):
                self._start_thread()
            job: _Job = (fn, args, Future())
            self._jobs.put(job)
            return await asyncio.wrap_future(job[2])
        finally:
            self._pending -= 1

    def _start_thread(self) -> None:
        number = len(self._threads)
        thread = threading.Thread(
            target=self._serve_jobs, args=(number,), name=f"sandbox-{number}", daemon=True
        )
        self._threads.append(thread)
        thread.start()

    def _serve_jobs(self, number: int) -> None:
        worker: _Worker | None = None
        while (job := self._jobs.get()) is not None:
            fn, args, future = job
            if not future.set_running_or_notify_cancel():
                continue  # the caller gave up waiting
            try:
                if self._closing:
                    raise EOFError
                if worker is None:
                    worker = self._workers[number] = _Worker(self.memory_bytes, self.preload)
                    worker.wait_ready()  # registered first: closing kills it even now
                    if self._closing:
                        raise EOFError
                future.set_result(worker.call(fn, args, self.timeout))
            except TimeoutError:
                stopped = f"took longer than {self.timeout:.0f} s; stopped"
                future.set_exception(SandboxError(stopped))
                self._retire(number, worker)
                worker = None
            except (EOFError, OSError):
                died = "the worker died (memory limit?)"
                future.set_exception(
                    SandboxError("the poll is stopping" if self._closing else died)
                )
                self._retire(number, worker)
                worker = None
            except BaseException as exc:  # the task's own exception, raised in the caller
                future.set_exception(exc)
        self._retire(number, worker)

    def _retire(self, number: int, worker: _Worker | None) -> None:
        """Kill the worker, if any; the thread starts a new one for its next job."""
        if worker is not None:
            worker.kill()
        self._workers.pop(number, None)


_Job = tuple[Callable[..., Any], tuple[Any, ...], "Future[Any]"]
