"""Shared fixtures: the supplied dump, and archives on both SQLite and PostgreSQL."""

from __future__ import annotations

import logging
import os
import shutil
import sqlite3
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from aiosmtpd.controller import Controller

from bot import logs
from bot.archive import Archive
from tests.feedserver import FeedServer
from tests.smtpsink import Sink, free_port

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "data"
DUMP = ROOT / "bot" / "data" / "communitycare-cspr-feed-dump.txt"
SHARED = ROOT.parent / "shared" / "data"
# Debian's Chromium, headless and quiet: no network of its own (updates, sync, QUIC probes)
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)
PG_URL = os.environ.get(
    "REPORTBOT_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    """No test reads the developer's config or database by accident, and the log handler a
    CLI call installs (on that test's captured stderr) goes with the test."""
    monkeypatch.delenv("REPORTBOT_DATABASE_URL", raising=False)
    monkeypatch.delenv("REPORTBOT_CONFIG", raising=False)
    monkeypatch.chdir(tmp_path)
    yield
    logging.getLogger().handlers.clear()
    logs._secrets.clear()


@pytest.fixture
def dump_path() -> Path:
    return DUMP


def _pg_connect() -> psycopg.Connection[tuple[object, ...]]:
    dsn = PG_URL.replace("postgresql+psycopg://", "postgresql://")
    try:
        return psycopg.connect(dsn, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as exc:
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL at {PG_URL} is required in CI: {exc}")
        pytest.skip(f"PostgreSQL at {PG_URL} not reachable: {exc}")


def _schema_url(schema: str) -> str:
    sep = "&" if "?" in PG_URL else "?"
    return f"{PG_URL}{sep}options=-csearch_path%3D{schema}"


def _pg_schema() -> Iterator[str]:
    """A fresh schema in the test database, dropped afterwards."""
    conn = _pg_connect()
    name = f"rbtest_{uuid.uuid4().hex[:12]}"
    with conn:
        conn.execute(f'CREATE SCHEMA "{name}"')
        try:
            yield name
        finally:
            conn.execute(f'DROP SCHEMA "{name}" CASCADE')


class _MigratedSchemas:
    """PostgreSQL schemas at the newest migration, each migrated once per test process and
    emptied (TRUNCATE ... RESTART IDENTITY) between tests: running the ten migrations for
    every test was a large part of the suite's time. Tests of the migrations themselves use
    `unmigrated_url`."""

    def __init__(self) -> None:
        self.free: list[str] = []
        self.made: list[str] = []

    def take(self) -> str:
        if self.free:
            return self.free.pop()
        conn = _pg_connect()
        name = f"rbtest_{uuid.uuid4().hex[:12]}"
        with conn:
            conn.execute(f'CREATE SCHEMA "{name}"')
        self.made.append(name)
        arch = Archive(_schema_url(name))
        arch.upgrade()
        arch.close()
        return name

    def give_back(self, name: str) -> None:
        """Empty the schema for the next test; one that cannot be emptied at once (a test
        left a transaction open) is not used again."""
        with _pg_connect() as conn:
            tables = [
                row[0]
                for row in conn.execute(
                    "SELECT tablename FROM pg_tables WHERE schemaname = %s"
                    " AND tablename <> 'alembic_version'",
                    (name,),
                )
            ]
            try:
                conn.execute("SET lock_timeout = '5s'")
                names = ", ".join(f'"{name}"."{t}"' for t in tables)
                conn.execute(f"TRUNCATE {names} RESTART IDENTITY CASCADE")
            except psycopg.errors.LockNotAvailable:
                return
        self.free.append(name)

    def drop_all(self) -> None:
        if not self.made:
            return
        with _pg_connect() as conn:
            for name in self.made:
                conn.execute(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')


@pytest.fixture(scope="session")
def _migrated_schemas() -> Iterator[_MigratedSchemas]:
    schemas = _MigratedSchemas()
    yield schemas
    schemas.drop_all()


@pytest.fixture(scope="session")
def _sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An SQLite archive at the newest migration, made once per test process and copied for
    each test (a file copy instead of ten migrations)."""
    path = tmp_path_factory.mktemp("template") / "archive.db"
    arch = Archive(f"sqlite:///{path}")
    arch.upgrade()
    arch.close()
    with sqlite3.connect(path) as conn:  # everything in the main file, none in the WAL
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return path


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def archive_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The URL of an archive without rows, at the newest migration, on each database kind."""
    if request.param == "sqlite":
        path = tmp_path / "archive.db"
        shutil.copyfile(request.getfixturevalue("_sqlite_template"), path)
        yield f"sqlite:///{path}"
        return
    schemas: _MigratedSchemas = request.getfixturevalue("_migrated_schemas")
    name = schemas.take()
    try:
        yield _schema_url(name)
    finally:
        schemas.give_back(name)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def unmigrated_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database (no tables at all) on each kind: for the tests of migrating."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'archive.db'}"
        return
    for schema in _pg_schema():
        yield _schema_url(schema)


@pytest.fixture
def archive(archive_url: str) -> Iterator[Archive]:
    arch = Archive(archive_url)
    arch.upgrade()  # at the newest migration already: a check, not a migration
    yield arch
    arch.close()


@pytest.fixture
def filled(archive: Archive) -> Archive:
    """An archive holding the dump's ten articles."""
    from bot.pipeline import import_files

    import_files(archive, [DUMP])
    return archive


@pytest.fixture
def receiver() -> Iterator[FeedServer]:
    """An HTTP server on loopback whose routes the test sets; it records every request."""
    with FeedServer() as server:
        yield server


@pytest.fixture
def sink() -> Iterator[tuple[Sink, int]]:
    """An SMTP server on loopback answering 250 (or handler.reply): (handler, port)."""
    handler = Sink()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    yield handler, port
    controller.stop()
