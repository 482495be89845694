"""The worker's tick (bot.pipeline.worker): poll, then deliver, then the heartbeat."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from bot.archive import Archive
from bot.config import Config, FeedConfig
from bot.pipeline import TickSummary, tick
from tests.feedserver import FeedServer, Reply, rss


@pytest.fixture
def config() -> Iterator[Config]:
    with FeedServer() as server:
        server.routes["/a"] = lambda h: Reply(200, rss([("g1", "One", "71% of reviews")]))
        yield Config(feeds=(FeedConfig(id="a", url=server.url("/a"), allow_private=True),))


def _tick(archive: Archive, config: Config, stop: bool = False) -> TickSummary:
    async def go() -> TickSummary:
        event = asyncio.Event()
        if stop:
            event.set()
        started = datetime.now(UTC)
        return await tick(archive, config, owner="w1", started=started, stop=event)

    return asyncio.run(go())


def test_tick_polls_delivers_and_records_the_heartbeat(archive: Archive, config: Config) -> None:
    summary = _tick(archive, config)
    assert summary.poll.line.endswith("1 new items, 0 updated items")
    assert summary.delivery is not None and summary.delivery.sent == 0  # no subscriptions
    assert summary.heartbeat and archive.last_tick() is not None
    assert [w["name"] for w in archive.workers()] == ["w1"]


def test_a_stopped_tick_neither_delivers_nor_claims_a_heartbeat(
    archive: Archive, config: Config
) -> None:
    summary = _tick(archive, config, stop=True)
    assert summary.poll.outcomes == () and summary.delivery is None
    assert not summary.heartbeat and archive.last_tick() is None
