"""The worker's tick (bot.pipeline.worker): poll, then deliver, then the heartbeat."""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.archive import Archive
from bot.config import Config, FeedConfig, load
from bot.pipeline import TickSummary, tick
from bot.pipeline.worker import ConfigWatch, Presence, Reload, presence, reload_decision
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


def test_the_heartbeat_records_the_live_config_version(archive: Archive) -> None:
    loaded = datetime(2026, 12, 1, 18, 0, tzinfo=UTC)
    archive.heartbeat(
        "w1", "0.1", datetime.now(UTC), config_version="abc123", config_loaded_at=loaded
    )
    (worker,) = archive.workers()
    assert (worker["config_version"], worker["config_loaded_at"]) == ("abc123", loaded)


def test_workers_since_leaves_out_older_ticks(archive: Archive) -> None:
    archive.heartbeat("w1", "0.1", datetime.now(UTC))
    future = datetime.now(UTC) + timedelta(minutes=1)
    assert [w["name"] for w in archive.workers()] == ["w1"]
    assert archive.workers(since=future) == []


@pytest.mark.parametrize(
    ("age", "expected"),
    [
        (timedelta(0), Presence.RUNNING),
        (timedelta(minutes=59), Presence.RUNNING),
        (timedelta(hours=1), Presence.RUNNING),
        (timedelta(hours=1, seconds=1), Presence.GONE),
        (timedelta(hours=23), Presence.GONE),
        (timedelta(days=1), Presence.GONE),
        (timedelta(days=1, seconds=1), Presence.FORGOTTEN),
    ],
)
def test_presence_of_a_worker_by_the_age_of_its_last_tick(
    age: timedelta, expected: Presence
) -> None:
    now = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
    assert presence(now - age, now) is expected


@pytest.mark.parametrize(
    ("found", "problems", "refused", "asked", "expected"),
    [
        ("v1", 0, None, False, Reload.KEEP),  # unchanged file
        ("v1", 0, None, True, Reload.KEEP),  # SIGHUP never reloads an unchanged file
        ("v1", 0, "v2", False, Reload.KEEP),  # put back as it runs after a refusal
        ("v2", 0, None, False, Reload.RELOAD),
        ("v2", 0, "v2", False, Reload.RELOAD),  # cannot happen (a valid file is not refused)
        ("v2", 0, None, True, Reload.RELOAD),
        ("v2", 3, None, False, Reload.REFUSE),  # logged once
        ("v2", 3, "v2", False, Reload.STILL_REFUSED),  # not logged again every tick
        ("v2", 3, "v2", True, Reload.REFUSE),  # SIGHUP: the admin is looking, say it again
        ("v3", 1, "v2", False, Reload.REFUSE),  # another broken version: say why again
    ],
)
def test_reload_decision(
    found: str, problems: int, refused: str | None, asked: bool, expected: Reload
) -> None:
    verdict = reload_decision(
        live="v1", found=found, problems=problems, refused=refused, asked=asked
    )
    assert verdict is expected


def _write(path: Path, text: str) -> None:
    """Write the file with an mtime surely different from the last write's."""
    before = path.stat().st_mtime_ns if path.exists() else 0
    path.write_text(text)
    os.utime(path, ns=(before + 10**9, before + 10**9))


def test_config_watch_takes_a_valid_change(tmp_path: Path) -> None:
    path = tmp_path / "rb.toml"
    _write(path, "")
    watch = ConfigWatch(path, load(path))
    first = watch.live
    assert watch.refresh() is first  # unchanged: nothing read again
    _write(path, '[[feeds]]\nid = "a"\nurl = "https://example.org/feed"\n')
    live = watch.refresh()
    assert [f.id for f in live.config.feeds] == ["a"]
    assert live.version != first.version and live.loaded_at >= first.loaded_at


def test_config_watch_refuses_a_broken_config_and_keeps_the_old(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "rb.toml"
    _write(path, '[[feeds]]\nid = "a"\nurl = "https://example.org/feed"\n')
    watch = ConfigWatch(path, load(path))
    first = watch.live
    _write(path, '[[feeds]]\nid = "a"\nurl = "not a url"\n')
    with caplog.at_level(logging.INFO, logger="reportbot.worker"):
        assert watch.refresh() is first
        _write(path, '[[feeds]]\nid = "a"\nurl = "not a url"\n')  # touched, same content
        assert watch.refresh() is first
    (record,) = [r for r in caplog.records if r.getMessage().startswith("config refused")]
    assert "feeds[0].url" in record.__dict__["problem"]


def test_config_watch_rereads_on_request_when_the_mtime_is_unchanged(tmp_path: Path) -> None:
    path = tmp_path / "rb.toml"
    _write(path, '[[feeds]]\nid = "a"\nurl = "https://example.org/feed"\n')
    watch = ConfigWatch(path, load(path))
    stat = path.stat()
    path.write_text('[[feeds]]\nid = "b"\nurl = "https://example.org/feed"\n')
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))  # same size, same mtime
    assert [f.id for f in watch.refresh().config.feeds] == ["a"]
    watch.request()  # SIGHUP
    assert [f.id for f in watch.refresh().config.feeds] == ["b"]
