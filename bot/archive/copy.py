"""Copy a whole archive into an empty one (SQLite → PostgreSQL, or a backup the other way).

Every table, parents before children, in chunks, in one transaction on the target; then
PostgreSQL's id sequences are moved past the copied ids, so new rows do not collide. Both
archives are first brought to the newest schema, so their tables match.
"""

from __future__ import annotations

from collections.abc import Callable

import sqlalchemy as sa

from bot import schema
from bot.archive import index
from bot.archive.base import ArchiveBase, redact
from bot.errors import ArchiveError

CHUNK = 1000


def copy_archive(
    source: ArchiveBase,
    target: ArchiveBase,
    progress: Callable[[str, int], None] | None = None,
) -> dict[str, int]:
    """Rows copied per table. Refuses a target that already holds rows."""
    source.upgrade()
    target.upgrade()
    tables = schema.metadata.sorted_tables
    with target.engine.connect() as check:
        used = [t.name for t in tables if check.execute(sa.select(t).limit(1)).first()]
    if used:
        raise ArchiveError(
            f"the target archive at {redact(target.url)} is not empty ({', '.join(used)}): "
            "copy into a new database"
        )
    copied: dict[str, int] = {}
    with source.engine.connect() as read, target.engine.begin() as write:
        for table in tables:
            count = 0
            rows = read.execution_options(stream_results=True).execute(sa.select(table))
            while chunk := rows.fetchmany(CHUNK):
                write.execute(table.insert(), [dict(r._mapping) for r in chunk])
                count += len(chunk)
            copied[table.name] = count
            if progress is not None:
                progress(table.name, count)
        if write.dialect.name == "postgresql":
            for table in tables:
                _move_sequence(write, table)
        else:  # SQLite's full-text index is no table of the schema: built from the rows
            index.rebuild(write)
    return copied


def _move_sequence(conn: sa.Connection, table: sa.Table) -> None:
    ids = [c for c in table.primary_key.columns if isinstance(c.type, sa.Integer)]
    if len(table.primary_key.columns) != 1 or not ids:
        return
    column = ids[0]
    sequence = conn.execute(
        sa.text("SELECT pg_get_serial_sequence(:table, :column)"),
        {"table": table.name, "column": column.name},
    ).scalar()
    if sequence:
        highest = conn.execute(sa.select(sa.func.max(column))).scalar() or 0
        conn.execute(
            sa.text("SELECT setval(:seq, :next, false)"), {"seq": sequence, "next": highest + 1}
        )
