"""One story across feeds (issue 12 #7): the dump imported, then the live feed polled (served
here from the same articles), is one item per article, carried by both feeds."""

from __future__ import annotations

import asyncio
import io
import json
import re
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from bot import export, schema
from bot.archive import Archive
from bot.cli import run
from bot.config import Config, FeedConfig, SubscriptionConfig
from bot.models import FeedInfo
from bot.pipeline import import_files, poll_cycle, preview_digest
from tests.feedserver import FeedServer, Reply, rss
from tests.folded import add_live_copies, downgrade_to_0010

DUMP_FEED = "communitycare-co-uk-tag-child-safeguarding-practice-review-panel"


@pytest.fixture
def server() -> Iterator[FeedServer]:
    with FeedServer() as s:
        yield s


@pytest.fixture
def imported(archive: Archive, dump_path: Path) -> Archive:
    """The dump imported: ten articles under the dump's own feed."""
    import_files(archive, [dump_path])
    assert [f.key for f in archive.feeds()] == [DUMP_FEED]
    return archive


def _live_feed(archive: Archive, *, guids: bool) -> bytes:
    """The live feed of the same articles: the archive's items as RSS, with their own GUIDs
    (`guids`) or with GUIDs of another scheme (the links and words stay the same)."""
    out = io.StringIO()
    export.write_rss(archive.items(), FeedInfo(title="Community Care (live)"), out)
    body = out.getvalue()
    if not guids:
        body = re.sub(r"<guid[^>]*>[^<]*\?p=(\d+)</guid>", r"<guid>tag:live,2025:\1</guid>", body)
        assert "tag:live,2025:" in body
    return body.encode()


def _config(server: FeedServer, **feeds: str) -> Config:
    return Config(
        feeds=tuple(
            FeedConfig(id=key, url=server.url(path), allow_private=True)
            for key, path in feeds.items()
        )
    )


def _serve_and_poll(archive: Archive, server: FeedServer, *, guids: bool) -> Config:
    """Serve the live feed of the archive's articles and poll it once (feed id "live")."""
    body = _live_feed(archive, guids=guids)
    server.routes["/live"] = lambda h: Reply(200, body)
    config = _config(server, live="/live")
    _poll(archive, config)
    return config


def _poll(archive: Archive, config: Config) -> int:
    summary = asyncio.run(poll_cycle(archive, config, "test-worker"))
    return sum(o.new for o in summary.outcomes)


@pytest.mark.parametrize("guids", [True, False], ids=["same-guids", "other-guids"])
def test_the_live_feed_after_the_dump_adds_no_item(
    imported: Archive, server: FeedServer, guids: bool
) -> None:
    before = imported.items()
    server.routes["/live"] = lambda h: Reply(200, _live_feed(imported, guids=guids))
    assert _poll(imported, _config(server, live="/live")) == 0  # nothing new downstream
    after = imported.items()
    assert [s.id for s in after] == [s.id for s in before] and len(after) == 10
    assert {s.feed_keys for s in after} == {(DUMP_FEED, "live")}


def test_a_second_poll_of_the_live_feed_changes_nothing(
    imported: Archive, server: FeedServer
) -> None:
    config = _serve_and_poll(imported, server, guids=False)
    with imported.engine.begin() as conn:
        conn.execute(sa.update(schema.feeds).values(next_poll_at=None))
    summary = asyncio.run(poll_cycle(imported, config, "test-worker"))
    (outcome,) = summary.outcomes
    assert (outcome.new, outcome.updated) == (0, 0)
    assert len(imported.items()) == 10


def test_a_digest_over_both_feeds_lists_each_story_once(
    imported: Archive, server: FeedServer
) -> None:
    config = _serve_and_poll(imported, server, guids=False)
    both = {DUMP_FEED, "live"}
    now = datetime.now(UTC)
    chosen = imported.items_first_seen(now - timedelta(days=1), now + timedelta(seconds=1), both)
    assert len(chosen) == len({s.id for s in chosen}) == 10
    sub = SubscriptionConfig(id="both", email=("a@example.org",), max_items=50, backfill=True)
    config = config.model_copy(update={"subscriptions": (sub,)})
    text = preview_digest(imported, config, "both", fmt="text").body
    assert text.count("Racial bias greatly affects child protection practice") == 1


def test_a_reader_of_the_second_feed_only_gets_the_story_when_it_carries_it(
    imported: Archive, server: FeedServer
) -> None:
    """The story is in the live feed from the poll on, not from the dump's import."""
    imported_at = imported.items()[0].first_seen
    _serve_and_poll(imported, server, guids=True)
    now = datetime.now(UTC)
    window = (imported_at - timedelta(seconds=1), now + timedelta(seconds=1))
    live_only = imported.items_first_seen(*window, {"live"})
    assert len(live_only) == 10 and all(s.first_seen > imported_at for s in live_only)


def test_archive_list_and_show_name_every_feed(
    imported: Archive,
    server: FeedServer,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("COLUMNS", "300")  # rich folds long cells on a narrow terminal
    _serve_and_poll(imported, server, guids=False)
    db = ["--database", imported.url]
    assert run([*db, "archive", "list", "--limit", "1"]) == 0
    listed = capsys.readouterr().out
    assert f"{DUMP_FEED}, live" in listed
    assert run([*db, "archive", "show", "https://www.communitycare.co.uk/?p=216724"]) == 0
    shown = capsys.readouterr().out
    assert shown.count("Racial bias greatly affects") == 1  # one item, not two
    assert re.search(rf"feeds\s+{DUMP_FEED}, live", shown), shown


def test_two_workers_polling_two_feeds_of_one_story_make_one_item(
    archive: Archive, server: FeedServer
) -> None:
    """Two feeds carry the same 40 stories; two workers, each with its own connection,
    poll them at the same moment: one item per story, both feeds recorded, no error."""
    stories = [
        (f"https://news.example/?p={n}", f"Story {n}", f"Words of story {n}.") for n in range(40)
    ]
    server.routes["/a"] = lambda h: Reply(200, rss(stories, title="A"))
    server.routes["/b"] = lambda h: Reply(200, rss(stories, title="B"))
    config = _config(server, a="/a", b="/b")
    archive.sync_feeds([(f.id, f.url, f.title) for f in config.feeds])
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def worker(only: str) -> None:
        other = Archive(archive.url)
        barrier.wait()
        try:
            summary = asyncio.run(poll_cycle(other, config, f"w-{only}", only=only))
            errors.extend(RuntimeError(o.error) for o in summary.outcomes if o.error)
        except BaseException as exc:  # reported by the assertion below
            errors.append(exc)
        finally:
            other.close()

    threads = [threading.Thread(target=worker, args=(key,)) for key in ("a", "b")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    items = archive.items()
    assert len(items) == 40
    assert {s.feed_keys for s in items} in ({("a", "b")}, {("b", "a")})


def test_the_migration_folds_duplicates_and_keeps_their_rows(imported: Archive) -> None:
    """An archive from before 0011 holding each article twice (a second feed's copies, with
    other GUIDs): after the migration each is one item in both feeds, and every row stays."""
    downgrade_to_0010(imported)
    add_live_copies(imported)
    assert imported.counts()["items"] == 20
    imported.upgrade()
    assert imported.counts()["items"] == 20  # no row lost
    items = imported.items()
    assert len(items) == 10
    assert {s.feed_keys for s in items} == {(DUMP_FEED, "live")}
    with imported.engine.connect() as conn:
        folded = conn.execute(
            sa.text("SELECT guid, merged_into FROM items WHERE merged_into IS NOT NULL")
        ).all()
    assert len(folded) == 10 and all(guid.startswith("live-") for guid, _ in folded)
    # still reachable: `archive show` of the copy's GUID finds the story and the kept copy
    story, kept = imported.find(folded[0][0])
    assert (story.id, story.merged_into, story.feed_keys) == (
        folded[0][1],
        None,
        (DUMP_FEED, "live"),
    )
    assert kept.merged_into == folded[0][1] and kept.item.guid == folded[0][0]


def test_the_export_holds_each_story_once_with_its_feeds(
    imported: Archive, server: FeedServer
) -> None:
    _serve_and_poll(imported, server, guids=False)
    out = io.StringIO()
    export.write_jsonl(imported.items(), out)
    records = [json.loads(line) for line in out.getvalue().splitlines()]
    assert len(records) == 10
    assert all(r["feed"] == DUMP_FEED and r["feeds"] == [DUMP_FEED, "live"] for r in records)


def test_an_edit_in_the_second_feed_updates_the_one_item(
    imported: Archive, server: FeedServer, dump_path: Path
) -> None:
    """The live feed edits an article it carries: the item changes (updated, not a second
    item); importing the dump again (the old words, unchanged there) does not change it back."""
    config = _serve_and_poll(imported, server, guids=False)
    body = _live_feed(imported, guids=False).replace(
        b"Social workers believe racial bias", b"Most social workers believe racial bias"
    )
    server.routes["/live"] = lambda h: Reply(200, body)
    with imported.engine.begin() as conn:
        conn.execute(sa.update(schema.feeds).values(next_poll_at=None))
    (outcome,) = asyncio.run(poll_cycle(imported, config, "test-worker")).outcomes
    assert (outcome.new, outcome.updated) == (0, 1)
    (edited,) = [s for s in imported.items() if "Most social workers" in s.item.text]
    assert edited.previous_content_hash is not None and len(imported.items()) == 10
    (again,) = import_files(imported, [dump_path])
    assert (len(again.new), len(again.updated)) == (0, 0)
    assert any("Most social workers" in s.item.text for s in imported.items())
