"""`reportbot health`: one line saying what is wrong, or exit 0."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot import health
from bot.archive import Archive
from bot.cli import run

LIMIT = timedelta(minutes=5)


def test_no_tick_yet(archive: Archive) -> None:
    assert health.problems(archive.url, LIMIT) == [
        "no worker has completed a tick yet: is `reportbot run` running?"
    ]


def test_recent_tick_is_healthy(archive: Archive) -> None:
    archive.heartbeat("host:1", "0.1", datetime.now(UTC))
    assert health.problems(archive.url, LIMIT) == []


def test_old_tick_says_how_old(archive: Archive) -> None:
    archive.heartbeat("host:1", "0.1", datetime.now(UTC))
    later = datetime.now(UTC) + timedelta(minutes=12)
    (problem,) = health.problems(archive.url, LIMIT, now=later)
    assert problem.startswith("the last worker tick was 12 min ago (limit 5 min)")


def test_schema_behind_is_reported(unmigrated_url: str) -> None:
    from alembic import command

    from bot.archive.base import _alembic_config

    old = Archive(unmigrated_url)
    cfg = _alembic_config()
    with old.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0005")
    (problem,) = health.problems(unmigrated_url, LIMIT)
    assert "not at the newest schema: run `reportbot db upgrade`" in problem
    old.close()


def test_missing_sqlite_file_is_not_created(tmp_path: Path) -> None:
    path = tmp_path / "nothing.db"
    assert health.problems(f"sqlite:///{path}", LIMIT) == [
        f"no archive at {path}: check the database URL"
    ]
    assert not path.exists()


def test_unreachable_server_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    url = "postgresql://nobody@127.0.0.1:1/none"
    assert run(["--database", url, "health"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("reportbot: error: cannot read the archive at postgresql")
    assert err.count("\n") == 1 and "Traceback" not in err


def test_cli_exit_codes(archive: Archive, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["--database", archive.url, "health"]) == 1
    assert "no worker has completed a tick yet" in capsys.readouterr().err
    archive.heartbeat("host:1", "0.1", datetime.now(UTC))
    assert run(["--database", archive.url, "health", "--max-age", "1m"]) == 0
    assert capsys.readouterr().out == "healthy\n"
    assert run(["--database", archive.url, "health", "--max-age", "soon"]) == 1
    assert "--max-age: 'soon' is not a duration" in capsys.readouterr().err
