"""`reportbot db copy`: a SQLite archive into an empty PostgreSQL one, every row."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from bot import schema
from bot.archive import Archive
from bot.cli import run
from bot.pipeline import import_files
from tests.conftest import DUMP, PG_URL, _pg_schema
from tests.feedserver import rss

pytestmark = pytest.mark.postgres


@pytest.fixture
def pg_url() -> Iterator[str]:
    for name in _pg_schema():
        sep = "&" if "?" in PG_URL else "?"
        yield f"{PG_URL}{sep}options=-csearch_path%3D{name}"


def _rows(archive: Archive) -> dict[str, list[tuple[object, ...]]]:
    with archive.engine.connect() as conn:
        return {
            t.name: sorted(
                (tuple(r) for r in conn.execute(sa.select(t))), key=lambda row: repr(row)
            )
            for t in schema.metadata.sorted_tables
        }


def test_copy_carries_every_row_and_new_rows_follow(
    tmp_path: object, pg_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    from pathlib import Path

    source = Archive(f"sqlite:///{Path(str(tmp_path)) / 'old.db'}")
    source.upgrade()
    import_files(source, [DUMP])
    now = datetime.now(UTC)
    source.subscription_states(["weekly"])
    source.queue_period("weekly", ["a@example.org", "b@example.org"], now, now)
    source.unsubscribe("weekly", "b@example.org", via="cli")
    source.record_event("feed_unhealthy", "feed x failed 10 times")
    source.heartbeat("box:1", "0.1", now)
    assert run(["--database", source.url, "db", "copy", pg_url]) == 0
    assert "copied" in capsys.readouterr().out
    target = Archive(pg_url)
    assert _rows(target) == _rows(source)
    later = Path(str(tmp_path)) / "later.xml"
    later.write_bytes(rss([("g-new", "A new review", "x")]))
    import_files(target, [later])  # ids continue after the copied ones
    assert target.counts()["items"] == source.counts()["items"] + 1
    target.close()
    source.close()


def test_copy_refuses_a_target_with_rows(
    tmp_path: object, pg_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    from pathlib import Path

    source = f"sqlite:///{Path(str(tmp_path)) / 'old.db'}"
    target = Archive(pg_url)
    target.upgrade()
    import_files(target, [DUMP])
    before = target.counts()
    assert run(["--database", source, "db", "copy", pg_url]) == 1
    err = capsys.readouterr().err
    tables = "feeds, fetch_log, items, item_feeds, quotes"
    assert f"is not empty ({tables}): copy into a new database" in err
    assert target.counts() == before
    target.close()
