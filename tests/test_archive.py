"""The archive on SQLite and PostgreSQL: dedupe, updates, NULs, ordering, transactions."""

from __future__ import annotations

import threading
from dataclasses import replace
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from bot.archive import Archive
from bot.decide import decide
from bot.dump import parse_dump
from bot.errors import ArchiveError
from bot.identity import item_key
from bot.models import Extraction, FeedInfo, FeedState, FetchResult, Item, ParsedFeed
from tests.conftest import DUMP

FEED = FeedInfo(title="Reports", link="https://reports.example.org/")
NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
NEW_URL = "https://feeds.example.org/moved"


def _item(guid: str, text: str = "Body", **kw: object) -> Item:
    published = kw.pop("published", datetime(2025, 1, 1, tzinfo=UTC))
    return Item(
        key=item_key(guid, "", "T", published, text),
        guid=guid,
        link="",  # type: ignore[arg-type]
        title="T",
        published=published,
        text=text,
        **kw,
    )  # type: ignore[arg-type]


def _doc(*items: Item, feed: FeedInfo = FEED) -> ParsedFeed:
    return ParsedFeed(feed=feed, items=items, source="test", format="test")


@pytest.fixture
def dump_doc() -> ParsedFeed:
    return parse_dump(DUMP.read_text(encoding="utf-8"), str(DUMP))


def test_new_items_are_returned(archive: Archive, dump_doc: ParsedFeed) -> None:
    (result,) = archive.add([(dump_doc, None)])
    assert (len(result.new), len(result.updated), result.unchanged) == (10, 0, 0)


def test_second_add_returns_nothing(archive: Archive, dump_doc: ParsedFeed) -> None:
    archive.add([(dump_doc, None)])
    (result,) = archive.add([(dump_doc, None)])
    assert (result.new, result.updated, result.unchanged) == ((), (), 10)
    assert archive.counts()["items"] == 10


def test_http_https_flip_does_not_duplicate(archive: Archive) -> None:
    archive.add([(_doc(_item("http://x.org/?p=1")), None)])
    (result,) = archive.add([(_doc(_item("https://x.org/?p=1")), None)])
    assert result.unchanged == 1 and archive.counts()["items"] == 1


def test_edited_item_is_an_update_with_previous_hash(archive: Archive) -> None:
    (first,) = archive.add([(_doc(_item("g1", "Old words")), None)])
    (second,) = archive.add([(_doc(_item("g1", "New words")), None)])
    assert len(second.updated) == 1 and not second.new
    stored = archive.items()[0]
    assert stored.item.text == "New words"
    assert stored.previous_content_hash == first.new[0].content_hash
    assert archive.counts()["items"] == 1


def test_comment_count_change_is_not_an_edit(archive: Archive) -> None:
    archive.add([(_doc(_item("g1", comments_count=1)), None)])
    (result,) = archive.add([(_doc(_item("g1", comments_count=5)), None)])
    assert result.unchanged == 1
    assert archive.items()[0].item.comments_count == 5


def test_nul_characters_are_stripped(archive: Archive) -> None:
    archive.add([(_doc(_item("g\x001", "Bo\x00dy", summary="a\x00b")), None)])
    stored = archive.items()[0].item
    assert (stored.guid, stored.text, stored.summary) == ("g1", "Body", "ab")


def test_items_newest_first_by_publication(archive: Archive, dump_doc: ParsedFeed) -> None:
    archive.add([(dump_doc, None)])
    dates = [s.item.published for s in archive.items()]
    assert dates == sorted(dates, reverse=True)  # type: ignore[type-var]
    assert archive.items(limit=1)[0].item.guid.endswith("?p=216724")


def test_published_comes_back_aware_utc(archive: Archive, dump_doc: ParsedFeed) -> None:
    archive.add([(dump_doc, None)])
    stored = archive.find("https://www.communitycare.co.uk/?p=213631")[0]
    assert stored.item.published == datetime(2024, 11, 26, 0, 1, 45, tzinfo=UTC)


def test_feed_found_again_by_link(archive: Archive) -> None:
    archive.add([(_doc(_item("a")), None)])
    https_feed = replace(FEED, link="HTTPS://Reports.example.org/")
    (result,) = archive.add([(_doc(_item("b"), feed=https_feed), None)])
    assert [f.key for f in archive.feeds()] == [result.feed_key] == ["reports-example-org"]


def test_explicit_feed_key(archive: Archive) -> None:
    (result,) = archive.add([(_doc(_item("a")), "cspr")])
    assert result.feed_key == "cspr" and archive.feeds()[0].title == "Reports"


def test_failed_batch_leaves_archive_unchanged(archive: Archive) -> None:
    archive.add([(_doc(_item("a")), None)])
    before = archive.counts()
    naive = _item("b", published=datetime(2025, 1, 1))  # naive datetimes are refused
    with pytest.raises((ArchiveError, ValueError)):
        archive.add([(_doc(_item("c")), None), (_doc(naive), None)])
    assert archive.counts() == before


def test_find_by_either_scheme(archive: Archive, dump_doc: ParsedFeed) -> None:
    archive.add([(dump_doc, None)])
    assert len(archive.find("http://www.communitycare.co.uk/?p=216724")) == 1


def test_upgrade_is_idempotent(archive: Archive) -> None:
    archive.upgrade()
    assert archive.is_current()


def test_sqlite_pragmas(tmp_path) -> None:  # type: ignore[no-untyped-def]
    arch = Archive(f"sqlite:///{tmp_path / 'a.db'}")
    with arch.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 30000
    arch.close()


def test_sqlite_writers_wait_instead_of_failing(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Two archives on one file writing at once: BEGIN IMMEDIATE + busy timeout, no 'locked'."""
    url = f"sqlite:///{tmp_path / 'a.db'}"
    Archive(url).upgrade()
    errors: list[BaseException] = []

    def writer(prefix: str) -> None:
        arch = Archive(url)
        try:
            for n in range(25):
                arch.add([(_doc(_item(f"{prefix}{n}")), None)])
        except BaseException as exc:
            errors.append(exc)
        finally:
            arch.close()

    threads = [threading.Thread(target=writer, args=(p,)) for p in "ab"]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert Archive(url).counts()["items"] == 50


def test_unreachable_database_is_a_clear_error() -> None:
    arch = Archive("postgresql://nobody@127.0.0.1:1/none")
    with pytest.raises(ArchiveError, match="cannot open the archive at postgresql"):
        arch.upgrade()


def test_migrations_match_schema(archive: Archive) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    from bot.archive.index import SEARCH_OBJECTS
    from bot.schema import metadata

    def described(name: str | None, *_: object) -> bool:  # not the search index's own
        return name not in SEARCH_OBJECTS

    with archive.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"include_name": described})
        diff = compare_metadata(context, metadata)
    assert diff == []


def test_tables_exist(archive: Archive) -> None:
    names = set(sa.inspect(archive.engine).get_table_names())
    assert {"feeds", "items", "fetch_log", "alembic_version"} <= names


def test_upgrade_from_first_migration_keeps_items(unmigrated_url: str) -> None:
    """An archive made by migration 0001, with data in it, upgraded to head: nothing lost."""
    from alembic import command

    from bot.archive import _alembic_config

    arch = Archive(unmigrated_url)
    cfg = _alembic_config()
    with arch._write() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0001")
    doc = parse_dump(DUMP.read_text(encoding="utf-8"), str(DUMP))
    with arch.engine.begin() as conn:  # rows written as 0001 knew them
        from bot.archive import _item_values

        feed_id = conn.execute(
            sa.text(
                "INSERT INTO feeds (key, title, link, url, description, language, created_at)"
                " VALUES ('f', 't', 'l', '', '', '', :now) RETURNING id"
            ),
            {"now": datetime(2025, 1, 1)},
        ).scalar_one()
        for item in doc.items:
            values = _item_values(item) | {
                "feed_id": feed_id,
                "content_hash": "x",
                "first_seen": datetime(2025, 1, 1),
                "last_seen": datetime(2025, 1, 1),
                "comments_url": "",
                "published": None,
            }
            values.pop("updated")
            cols = ", ".join(values)
            conn.execute(
                sa.text(
                    f"INSERT INTO items ({cols}) VALUES ({', '.join(':' + c for c in values)})"
                ),
                values,
            )
    arch.upgrade()
    assert arch.is_current()
    assert arch.counts()["items"] == 10
    assert {s.item.title for s in arch.items()} == {i.title for i in doc.items}
    arch.close()


def test_workers_starting_together_migrate_once(unmigrated_url: str) -> None:
    from concurrent.futures import ThreadPoolExecutor

    handles = [Archive(unmigrated_url) for _ in range(3)]
    with ThreadPoolExecutor(3) as pool:
        list(pool.map(lambda a: a.upgrade(), handles))  # raises if any of them failed
    assert all(h.is_current() for h in handles)
    for h in handles:
        h.close()


def _claimed(archive: Archive, url: str = "https://feeds.example.org/a") -> FeedState:
    archive.sync_feeds([("a", url, "")])
    ((state, _),) = archive.claim_due(["a"], "w", lease_seconds=600)
    return state


def test_record_poll_stores_items_without_facts_as_missing(archive: Archive) -> None:
    state = _claimed(archive)
    fetched = FetchResult(url=state.url, status=200, body=b"<rss/>")
    decision = decide(
        state, fetched, _doc(_item("g1", "Calm"), _item("g2", "Bad")), known={}, now=NOW
    )
    calm = Extraction(version="1", figures=(), quotes=())
    result = archive.record_poll(decision, {_item("g1").key: calm})  # g2: none came back
    assert len(result.new) == 2
    assert [(s.item.guid, s.extraction) for s in result.new] == [("g1", calm), ("g2", None)]
    assert [s.item.guid for s in archive.items(facts_missing=True)] == ["g2"]
    archive.store_facts([(result.new[1].id, calm)])  # reextract --missing succeeded
    assert archive.items(facts_missing=True) == []


def test_record_poll_applies_validators_health_and_schedule(archive: Archive) -> None:
    state = replace(_claimed(archive), error_count=9)
    failed = FetchResult(url=state.url, status=500, error="HTTP 500 from there")
    decision = decide(state, failed, None, known={}, now=NOW)
    archive.record_poll(decision)
    (row,) = archive.feed_status()
    assert (row.error_count, row.healthy, row.last_error) == (
        10,
        False,
        "HTTP 500 from there",
    )
    assert row.next_poll_at == decision.next_poll_at
    assert [e.kind for e in archive.events()] == ["feed_unhealthy"]


def test_an_adopted_redirect_survives_sync_but_an_edited_config_wins(archive: Archive) -> None:
    state = replace(_claimed(archive), redirect_url=NEW_URL, redirect_count=2)
    moved = FetchResult(url=NEW_URL, status=200, body=b"<rss/>", permanent_redirect=NEW_URL)
    archive.record_poll(decide(state, moved, _doc(_item("g1")), known={}, now=NOW))
    archive.sync_feeds([("a", "https://feeds.example.org/a", "")])  # the config as it was
    assert archive.feed_status()[0].url == NEW_URL
    archive.sync_feeds([("a", "https://feeds.example.org/edited", "")])
    assert archive.feed_status()[0].url == "https://feeds.example.org/edited"
