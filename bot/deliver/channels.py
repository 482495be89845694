"""Post chat deliveries: each destination in order and at its pace, destinations at once.

A delivery is one or more messages (a digest split to fit a platform's limits). Its parts go
out in order; after a failure the rest wait, and a retry starts from the first part not yet
accepted (parts_sent), so a half-sent digest is finished, not repeated. A 429 holds back the
destination's other deliveries too: they would only meet the same answer.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import httpx

from bot import __version__
from bot.deliver import http
from bot.deliver.channel import Channel
from bot.models import DeliveryResult, Outcome, Retry, Sent, Unknown

TIMEOUT = httpx.Timeout(15.0, connect=5.0)


@dataclass(frozen=True)
class ChatJob:
    """One delivery to post: its rendered messages and where to."""

    delivery_id: int
    channel: Channel
    url: str
    key: str  # the delivery's idempotency key
    payloads: tuple[str, ...]
    parts_sent: int = 0
    secret: bytes = b""  # webhook only


async def post_all(
    jobs: Sequence[ChatJob],
    *,
    concurrency: int = 20,
    pace: dict[str, float] | None = None,
    on_result: Callable[[DeliveryResult], None] | None = None,
) -> list[DeliveryResult]:
    """Send every job; one result per job, in no particular order. Never raises for one
    message's trouble. `pace` maps a URL to its last post (time.monotonic()); pass the same
    dict to successive calls so a destination's pace holds across batches. `on_result` hears
    of each job as soon as it is done."""
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
                _destination(client, queue=queue, pace=pace, gate=gate, on_result=on_result)
                for queue in by_destination.values()
            )
        )
    return [result for group in groups for result in group]


async def _destination(
    client: httpx.AsyncClient,
    *,
    queue: list[ChatJob],
    pace: dict[str, float],
    gate: asyncio.Semaphore,
    on_result: Callable[[DeliveryResult], None] | None,
) -> list[DeliveryResult]:
    """One destination's jobs in order. The gate bounds requests in flight, not
    destinations: one waiting out its pace does not hold a place."""
    results: list[DeliveryResult] = []
    held: Retry | None = None  # a 429 from this destination holds back the rest
    for job in queue:
        sent = job.parts_sent
        outcome: Outcome | None = held
        while outcome is None and sent < len(job.payloads):
            in_flight = False
            try:
                wait = pace.get(job.url, -1e9) + job.channel.min_interval - time.monotonic()
                if wait > 0:
                    await asyncio.sleep(wait)
                async with gate:
                    in_flight = True
                    posted = await _post(client, job, sent)
            except asyncio.CancelledError:
                _interrupted(job, sent=sent, in_flight=in_flight, on_result=on_result)
                raise
            # paced from the answer, not the request: the receiver has seen this one by
            # now, so it sees the next one at least min_interval later whatever its queues
            pace[job.url] = time.monotonic()
            if isinstance(posted, Sent):
                sent += 1
                continue
            outcome = posted
            if isinstance(posted, Retry) and posted.after is not None:
                error = f"{job.channel.name}: held back by a 429 on the same webhook"
                held = Retry(error, after=posted.after)
        results.append(DeliveryResult(job.delivery_id, outcome or Sent(), parts_sent=sent))
        if on_result is not None:
            on_result(results[-1])
    return results


def _interrupted(
    job: ChatJob,
    *,
    sent: int,
    in_flight: bool,
    on_result: Callable[[DeliveryResult], None] | None,
) -> None:
    """Report a job cancelled mid-way: Unknown if a post was out, Retry from the next part
    if some parts went; a job not begun is not reported (the caller gives it back)."""
    outcome: Outcome
    if in_flight:
        outcome = Unknown(f"{job.channel.name}: interrupted mid-post, it may have arrived")
    elif sent > job.parts_sent:
        outcome = Retry(f"{job.channel.name}: interrupted between parts")
    else:
        return
    if on_result is not None:
        on_result(DeliveryResult(job.delivery_id, outcome, parts_sent=sent))


async def _post(client: httpx.AsyncClient, job: ChatJob, part: int) -> Outcome:
    key = job.key if len(job.payloads) == 1 else f"{job.key}#{part + 1}"
    name = job.channel.name
    try:
        request = job.channel.request(
            url=job.url, payload=job.payloads[part], key=key, secret=job.secret
        )
    except Exception as exc:  # nothing left yet: safe to try again
        return Retry(f"{name}: cannot make the request: {type(exc).__name__}: {exc}")
    return await http.post(client, name=name, request=request)
