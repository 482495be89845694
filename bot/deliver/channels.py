"""Post chat deliveries: each destination in order and at its pace, destinations at once.

A delivery is one or more messages (a digest split to fit a platform's limits). Its parts go
out in order; after a failure the rest wait, and a retry starts from the first part not yet
accepted (parts_sent), so a half-sent digest is finished, not repeated. A 429 holds back the
destination's other deliveries too: they would only meet the same answer.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from types import ModuleType

import httpx

from bot import __version__
from bot.deliver import discord, slack, teams, webhook
from bot.deliver.http import Posted
from bot.models import DeliveryResult

TARGETS: dict[str, ModuleType] = {
    "slack": slack,
    "teams": teams,
    "discord": discord,
    "webhook": webhook,
}
TIMEOUT = httpx.Timeout(15.0, connect=5.0)


async def post_all(
    jobs: Sequence[ChatJob],
    concurrency: int = 20,
    pace: dict[str, float] | None = None,
    on_result: Callable[[DeliveryResult], None] | None = None,
) -> list[DeliveryResult]:
    """Send every job; one result per job, in no particular order. Never raises for
    network or HTTP trouble. `pace` maps a URL to its last post (time.monotonic()); pass
    the same dict to successive calls so a destination's pace holds across batches.
    `on_result` hears of each job as soon as it is done."""
    pace = {} if pace is None else pace
    by_destination: dict[str, list[ChatJob]] = {}
    for job in jobs:
        by_destination.setdefault(job.url, []).append(job)
    gate = asyncio.Semaphore(concurrency)
    headers = {"User-Agent": f"reportbot/{__version__}"}
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(
        timeout=TIMEOUT, follow_redirects=False, headers=headers, limits=limits
    ) as client:
        groups = await asyncio.gather(
            *(
                _destination(client, queue, pace, gate, on_result)
                for queue in by_destination.values()
            )
        )
    return [result for group in groups for result in group]


async def _destination(
    client: httpx.AsyncClient,
    queue: list[ChatJob],
    pace: dict[str, float],
    gate: asyncio.Semaphore,
    on_result: Callable[[DeliveryResult], None] | None,
) -> list[DeliveryResult]:
    """One destination's jobs in order. The gate bounds requests in flight, not
    destinations: one waiting out its pace does not hold a place."""
    results: list[DeliveryResult] = []
    held: Posted | None = None  # a 429 from this destination holds back the rest
    for job in queue:
        target = TARGETS[job.kind]
        sent = job.parts_sent
        outcome: Posted | None = held
        while outcome is None and sent < len(job.payloads):
            wait = pace.get(job.url, -1e9) + float(target.MIN_INTERVAL) - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            async with gate:
                posted = await _send(target, client, job, sent)
            # paced from the answer, not the request: the receiver has seen this one by
            # now, so it sees the next one at least MIN_INTERVAL later whatever its queues
            pace[job.url] = time.monotonic()
            if posted.ok:
                sent += 1
            else:
                outcome = posted
                if posted.retry_after is not None:
                    held = Posted(
                        ok=False,
                        error=f"{job.kind}: held back by a 429 on the same webhook",
                        retry_after=posted.retry_after,
                    )
        results.append(_result(job, sent, outcome))
        if on_result is not None:
            on_result(results[-1])
    return results


def _send(
    target: ModuleType, client: httpx.AsyncClient, job: ChatJob, part: int
) -> Awaitable[Posted]:
    key = job.key if len(job.payloads) == 1 else f"{job.key}#{part + 1}"
    send: Callable[..., Awaitable[Posted]] = target.send
    if job.kind == "webhook":
        return send(client, job.url, job.payloads[part], key, secret=job.secret)
    return send(client, job.url, job.payloads[part], key)


def _result(job: ChatJob, sent: int, outcome: Posted | None) -> DeliveryResult:
    if outcome is None:
        return DeliveryResult(job.delivery_id, ok=True, parts_sent=sent)
    return DeliveryResult(
        job.delivery_id,
        ok=False,
        error=outcome.error,
        retry=outcome.retry,
        unknown=outcome.unknown,
        retry_after=outcome.retry_after,
        parts_sent=sent,
    )


@dataclass(frozen=True)
class ChatJob:
    """One delivery to post: its rendered messages and where to."""

    delivery_id: int
    kind: str  # slack | teams | discord | webhook
    url: str
    key: str  # the delivery's idempotency key
    payloads: tuple[str, ...]
    parts_sent: int = 0
    secret: bytes = b""  # webhook only
