"""The archive's foundation: engine set-up, migrations, transactions and row helpers.

SQLite (the default) runs in WAL mode with a busy timeout, and every write transaction starts
with BEGIN IMMEDIATE: a deferred transaction that reads and then writes fails at once with
"database is locked" when another writer got there first, instead of waiting. PostgreSQL is
used when the URL says so.
"""

from __future__ import annotations

import re
import sqlite3
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, fields, replace
from datetime import datetime
from functools import cache
from importlib.resources import files
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from bot.archive.index import facts_text, figure_count
from bot.decide import Facts, MissingFacts
from bot.errors import ArchiveError
from bot.identity import normalise_url
from bot.models import (
    Extraction,
    FeedInfo,
    Item,
    ParsedFeed,
    StoredItem,
    extraction_from_json,
    extraction_to_json,
)

if TYPE_CHECKING:
    from alembic.config import Config as AlembicConfig

# Called for each new or updated item while it is archived, in the same transaction.
Extractor = Callable[[ParsedFeed, Item], Extraction]

_BUSY_TIMEOUT_MS = 30_000
_CHUNK = 500  # keys per IN (...) query: well under SQLite's bound-parameter limit


@dataclass(frozen=True)
class Feed:
    """A feed as the archive knows it."""

    id: int
    key: str
    title: str
    link: str
    url: str
    description: str = ""
    language: str = ""

    def info(self) -> FeedInfo:
        return FeedInfo(
            title=self.title,
            link=self.link,
            description=self.description,
            url=self.url,
            language=self.language,
        )


# config.DEFAULT_URL's file (not imported from there: the archive does not read the config)
_DEFAULT_FILE = "state/reportbot.db"


def engine_for(url: str) -> Engine:
    """An Engine for `url`, with SQLite set up for one writer and many readers."""
    url = _normalise_db_url(url)
    try:
        sa_url = sa.make_url(url)
    except sa.exc.ArgumentError as exc:
        raise ArchiveError(f"database URL {url!r} is not valid: {exc}") from exc
    if sa_url.get_backend_name() != "sqlite":
        return sa.create_engine(sa_url, pool_pre_ping=True)
    if sa_url.database and sa_url.database != ":memory:":
        folder = Path(sa_url.database).parent
        if sa_url.database == _DEFAULT_FILE:  # the default's state/ folder: made on first use
            folder.mkdir(parents=True, exist_ok=True)
        elif not folder.is_dir():  # a typo must not start an empty archive somewhere new
            raise ArchiveError(
                f"database folder {folder} does not exist: check the database URL "
                "(--database, $REPORTBOT_DATABASE_URL or [archive] url)"
            )
    engine = sa.create_engine(sa_url, connect_args={"timeout": _BUSY_TIMEOUT_MS / 1000})

    @sa.event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event issue BEGIN itself (pysqlite would defer it).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        _wal(cursor)
        # In WAL mode NORMAL never corrupts the file; a power cut can lose the last commits,
        # which the next poll fetches again. FULL would fsync every feed's transaction.
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute(f"PRAGMA busy_timeout={_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @sa.event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        mode = "IMMEDIATE" if conn.get_execution_options().get("write") else "DEFERRED"
        conn.exec_driver_sql(f"BEGIN {mode}")

    return engine


def _wal(cursor: Any) -> None:
    """Put the file in WAL mode (it stays so). Switching needs the file to itself, and
    SQLite answers "locked" at once instead of waiting when another connection (a second
    worker starting at the same moment) has it open: so wait and try again here."""
    if str(cursor.execute("PRAGMA journal_mode").fetchone()[0]).lower() == "wal":
        return
    deadline = time.monotonic() + _BUSY_TIMEOUT_MS / 1000
    while True:
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def _normalise_db_url(url: str) -> str:
    # "postgresql://" and "postgres://" (Heroku style) mean psycopg 3, the driver we install.
    return re.sub(r"^postgres(?:ql)?://", "postgresql+psycopg://", url.strip())


def redact(url: str) -> str:
    """The URL with any password hidden, for messages."""
    try:
        return sa.make_url(_normalise_db_url(url)).render_as_string(hide_password=True)
    except sa.exc.ArgumentError:
        return "<invalid database URL>"


class ArchiveBase:
    """A handle on one archive database: connection, schema and transactions."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = engine_for(url)

    def close(self) -> None:
        self.engine.dispose()

    # -- schema -------------------------------------------------------------------------

    def upgrade(self) -> None:
        """Bring the schema to the newest migration (idempotent)."""
        if self._at_head():  # the usual case, seen without Alembic (0.3 s of a command's start)
            return
        from alembic import command  # imported here: a worker needs it once, at start

        cfg = _alembic_config()
        try:
            with self._write(migrating=True) as conn:
                if conn.dialect.name == "postgresql":
                    # several workers start at once: one migrates, the others wait here and
                    # then find nothing to do (SQLite's BEGIN IMMEDIATE already serialises)
                    conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": _LOCK})
                cfg.attributes["connection"] = conn
                command.upgrade(cfg, "head")
        except sa.exc.OperationalError as exc:
            raise ArchiveError(
                f"cannot open the archive at {redact(self.url)}: {_first_line(exc)}; "
                "check the database URL and that the server is running"
            ) from exc

    def _at_head(self) -> bool:
        """True when the database is stamped with the newest migration. Any doubt (no
        alembic_version table yet, a graph that is not a plain chain, a server that does not
        answer) says False, and Alembic itself then decides and reports."""
        head = _head_revision()
        if head is None:
            return False
        try:
            with self.engine.connect() as conn:
                stamped = conn.execute(sa.text("SELECT version_num FROM alembic_version"))
                return list(stamped.scalars()) == [head]
        except sa.exc.DBAPIError:
            return False

    def is_current(self) -> bool:
        """True when the database is at the newest migration."""
        from alembic.runtime.migration import MigrationContext
        from alembic.script import ScriptDirectory

        head = ScriptDirectory.from_config(_alembic_config()).get_current_head()
        with self.engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision() == head

    # -- transactions -------------------------------------------------------------------

    @contextmanager
    def _write(self, migrating: bool = False) -> Iterator[Connection]:
        with self.engine.connect() as conn:
            sqlite = conn.dialect.name == "sqlite"
            if migrating and sqlite:
                # SQLite ignores this pragma inside a transaction, so it goes first: a batch
                # migration that rebuilds a table must not cascade-delete what references it.
                conn.connection.driver_connection.execute("PRAGMA foreign_keys=OFF")  # type: ignore[union-attr]
            conn = conn.execution_options(write=True)
            try:
                with conn.begin():
                    yield conn
                    if migrating and sqlite:
                        broken = conn.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                        if broken:
                            raise ArchiveError(
                                f"migration left {len(broken)} broken references; rolled back"
                            )
            finally:
                if migrating and sqlite:
                    conn.connection.driver_connection.execute("PRAGMA foreign_keys=ON")  # type: ignore[union-attr]

    @contextmanager
    def _read(self) -> Iterator[Connection]:
        try:
            with self.engine.connect() as conn, conn.begin():
                yield conn
        except sa.exc.OperationalError as exc:
            raise ArchiveError(
                f"cannot read the archive at {redact(self.url)}: {_first_line(exc)}"
            ) from exc


_LOCK = 0x7265706F72740001  # "report" + 1: the advisory lock taken while migrating
# taken by a write that may add items: one story brought by two feeds at once (two workers)
# must become one item, so the look-up of its story and the insert happen one writer at a
# time (SQLite's BEGIN IMMEDIATE already makes it so)
STORY_LOCK = 0x7265706F72740002
# taken by a rate-limit hit: under READ COMMITTED two hits at once each count without the
# other's row, and both pass a limit only one should (SQLite: one writer anyway)
RATE_LOCK = 0x7265706F72740003


_REVISION = re.compile(r"""^revision\b[^=\n]*=\s*["']([^"']+)["']""", re.MULTILINE)
_DOWN_REVISION = re.compile(
    r"""^down_revision\b[^=\n]*=\s*(?:["']([^"']+)["']|None)\s*$""", re.MULTILINE
)


@cache
def _head_revision() -> str | None:
    """The newest migration's id, read from the scripts' text: Alembic would import itself
    and every script to learn it, which `status` would pay on every start."""
    folder = files("bot") / "migrations" / "versions"
    return head_of(
        script.read_text(encoding="utf-8")
        for script in folder.iterdir()
        if script.name.endswith(".py") and not script.name.startswith("__")
    )


def head_of(scripts: Iterable[str]) -> str | None:
    """The one revision no other script revises; None unless the scripts form one plain
    chain (a merge, a branch, a script not understood: Alembic decides). A test compares
    this with Alembic's own answer for the scripts shipped."""
    revisions: set[str] = set()
    parents: set[str] = set()
    for text in scripts:
        revision, down = _REVISION.search(text), _DOWN_REVISION.search(text)
        if revision is None or down is None:
            return None
        revisions.add(revision[1])
        if down[1]:
            parents.add(down[1])
    heads = revisions - parents
    return heads.pop() if len(heads) == 1 else None


def _alembic_config() -> AlembicConfig:
    from alembic.config import Config as AlembicConfig

    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(files("bot") / "migrations"))
    return cfg


_ITEM_COLUMNS = [f.name for f in fields(Item) if f.name != "key"] + ["key"]


def _item_values(item: Item) -> dict[str, Any]:
    return {name: getattr(item, name) for name in _ITEM_COLUMNS}


def _strip_nul(value: str) -> str:
    return value.replace("\x00", "")


def _lease(conn: Connection, table: sa.Table, query: Any, values: dict[str, Any]) -> list[Any]:
    """Select due rows and mark them taken, in the caller's write transaction. PostgreSQL
    skips rows another worker has locked (FOR UPDATE SKIP LOCKED); SQLite has one writer."""
    if conn.dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    rows = list(conn.execute(query))
    if rows:
        conn.execute(table.update().where(table.c.id.in_([r.id for r in rows])).values(**values))
    return rows


def _release(
    conn: Connection,
    table: sa.Table,
    claims: Sequence[tuple[int, int]],
    *,
    sending: str,
    pending: str,
) -> int:
    """Give back leased rows never tried, as (id, attempts of the claim): `pending` again, no
    lease, the claim's attempt not counted. A row claimed again since (another attempt count)
    or no longer `sending` is left alone. Returns how many were given back."""
    update = (
        table.update()
        .where(
            table.c.id == sa.bindparam("v_id"),
            table.c.state == sending,
            table.c.attempts == sa.bindparam("v_attempt"),
        )
        .values(state=pending, lease_until=None, attempts=table.c.attempts - 1)
    )
    rows = [{"v_id": row_id, "v_attempt": attempts} for row_id, attempts in claims]
    return int(conn.execute(update, rows).rowcount)


def _facts_values(facts: Facts | None) -> dict[str, Any]:
    # search_facts and figure_count: what search indexes and filters on (bot.archive.index)
    none = {"facts": None, "extractor_version": None, "search_facts": "", "figure_count": 0}
    if isinstance(facts, MissingFacts):
        return none | {"facts_error": facts.reason[:2000]}
    if facts is None:
        return none | {"facts_error": None}
    return {
        "facts": extraction_to_json(facts),
        "extractor_version": facts.version,
        "facts_error": None,
        "search_facts": facts_text(facts),
        "figure_count": figure_count(facts),
    }


def _stored(
    pk: int,
    feed_key: str,
    item: Item,
    digest: str,
    previous: str | None,
    first_seen: datetime,
    last_seen: datetime,
    facts: Extraction | None = None,
) -> StoredItem:
    return StoredItem(
        id=pk,
        feed_key=feed_key,
        item=item,
        content_hash=digest,
        previous_content_hash=previous,
        first_seen=first_seen,
        last_seen=last_seen,
        extraction=facts,
    )


def _row_to_stored(row: Any) -> StoredItem:
    item = Item(**{name: getattr(row, name) for name in _ITEM_COLUMNS})
    facts = extraction_from_json(row.facts) if row.facts else None
    stored = _stored(
        row.id,
        row.feed_key,
        item,
        row.content_hash,
        row.previous_content_hash,
        row.first_seen,
        row.last_seen,
        facts,
    )
    merged = getattr(row, "merged_into", None)
    return replace(stored, merged_into=merged) if merged is not None else stored


def _feed(row: Any) -> Feed:
    return Feed(
        id=row.id,
        key=row.key,
        title=row.title,
        link=row.link,
        url=row.url,
        description=row.description,
        language=row.language,
    )


def _slug(info: FeedInfo) -> str:
    base = normalise_url(info.link) or normalise_url(info.url) or info.title or "feed"
    base = re.sub(r"^www\.", "", base.lower())
    slug = re.sub(r"[^a-z0-9]+", "-", base).strip("-")
    return slug[:80].rstrip("-") or "feed"


def _unique_key(slug: str, taken: set[str]) -> str:
    key, n = slug, 2
    while key in taken:
        key, n = f"{slug}-{n}", n + 1
    return key


def _first_line(exc: BaseException) -> str:
    text = str(getattr(exc, "orig", None) or exc)
    return text.strip().splitlines()[0] if text.strip() else type(exc).__name__
