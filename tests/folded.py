"""An archive from before one story per article (migration 0011) holding each article twice,
migrated: the second copies stay as rows folded into their story (`merged_into`)."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import command

from bot import schema
from bot.archive import Archive
from bot.archive.base import _alembic_config


def downgrade_to_0010(archive: Archive) -> None:
    cfg = _alembic_config()
    with archive._write(migrating=True) as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0010")


def add_live_copies(archive: Archive) -> None:
    """At 0010: a second feed, "live", with a copy of every item under other GUIDs."""
    with archive.engine.begin() as conn:
        now = datetime.now(UTC)
        pk = conn.execute(
            sa.text(
                "INSERT INTO feeds (key, title, link, url, description, language, created_at,"
                " error_count, healthy, redirect_count)"
                " VALUES ('live', 'Live', '', 'https://x.example/feed', '', '', :now, 0, :t, 0)"
                " RETURNING id"
            ),
            {"now": now.replace(tzinfo=None), "t": True},
        ).scalar_one()
        columns = [
            c.name
            for c in schema.items.c
            if c.name
            # the columns of 0010's items table (later migrations add the rest)
            not in (
                *("id", "feed_id", "key", "guid", "story_link", "story_hash", "merged_into"),
                *("search_facts", "figure_count"),
            )
        ]
        listed = ", ".join(columns)
        conn.execute(
            sa.text(
                f"INSERT INTO items (feed_id, key, guid, {listed})"
                f" SELECT :feed, 'guid:live-' || id, 'live-' || id, {listed} FROM items"
            ),
            {"feed": pk},
        )


def fold_live_copies(archive: Archive) -> dict[int, int]:
    """Each item copied under "live" before 0011, then migrated: {copy id: story id}."""
    downgrade_to_0010(archive)
    add_live_copies(archive)
    archive.upgrade()
    with archive.engine.connect() as conn:
        rows = conn.execute(
            sa.text("SELECT id, merged_into FROM items WHERE merged_into IS NOT NULL")
        ).all()
    return {copy: story for copy, story in rows}
