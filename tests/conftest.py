"""Shared fixtures: the supplied dump, and archives on both SQLite and PostgreSQL."""

from __future__ import annotations

import logging
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from aiosmtpd.controller import Controller

from bot import logs
from bot.archive import Archive
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


def _pg_schema() -> Iterator[str]:
    """A fresh schema in the test database, dropped afterwards."""
    dsn = PG_URL.replace("postgresql+psycopg://", "postgresql://")
    try:
        conn = psycopg.connect(dsn, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as exc:
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL at {PG_URL} is required in CI: {exc}")
        pytest.skip(f"PostgreSQL at {PG_URL} not reachable: {exc}")
    name = f"rbtest_{uuid.uuid4().hex[:12]}"
    with conn:
        conn.execute(f'CREATE SCHEMA "{name}"')
        try:
            yield name
        finally:
            conn.execute(f'DROP SCHEMA "{name}" CASCADE')


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def archive_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty archive URL on each database kind."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'archive.db'}"
        return
    for schema in _pg_schema():
        sep = "&" if "?" in PG_URL else "?"
        yield f"{PG_URL}{sep}options=-csearch_path%3D{schema}"


@pytest.fixture
def archive(archive_url: str) -> Iterator[Archive]:
    arch = Archive(archive_url)
    arch.upgrade()
    yield arch
    arch.close()


@pytest.fixture
def filled(archive: Archive) -> Archive:
    """An archive holding the dump's ten articles."""
    from bot.pipeline import import_files

    import_files(archive, [DUMP])
    return archive


@pytest.fixture
def sink() -> Iterator[tuple[Sink, int]]:
    """An SMTP server on loopback answering 250 (or handler.reply): (handler, port)."""
    handler = Sink()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    yield handler, port
    controller.stop()
