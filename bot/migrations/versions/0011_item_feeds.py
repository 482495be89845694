"""One story across feeds: which feeds carried each item (item_feeds), and what identifies
its story (items.story_link, items.story_hash). Items of different feeds that are already
one story (bot.identity.group_stories) are folded into the oldest: their feed memberships
move to it and their rows stay, marked merged_into, so nothing they hold is lost.

Revision ID: 0011_item_feeds
Revises: 0010
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from bot.identity import Story, group_stories, story_of
from bot.schema import UTCDateTime

revision = "0011_item_feeds"
down_revision = "0010"
branch_labels = None
depends_on = None

_BATCH = 500


def upgrade() -> None:
    # Plain ADD COLUMN (see 0003): a batch rebuild of items would lose nothing, but is slow.
    op.add_column("items", sa.Column("story_link", sa.Text, nullable=False, server_default=""))
    op.add_column(
        "items", sa.Column("story_hash", sa.String(64), nullable=False, server_default="")
    )
    op.add_column("items", sa.Column("merged_into", sa.Integer))
    op.create_index("ix_items_story_link", "items", ["story_link"])
    op.create_index("ix_items_story_hash", "items", ["story_hash"])
    op.create_table(
        "item_feeds",
        sa.Column("feed_id", sa.Integer, nullable=False),
        sa.Column("key", sa.Text, nullable=False),
        sa.Column("item_id", sa.Integer, nullable=False),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("first_seen", UTCDateTime, nullable=False),
        sa.PrimaryKeyConstraint("feed_id", "key", name="pk_item_feeds"),
        sa.ForeignKeyConstraint(
            ["feed_id"], ["feeds.id"], name="fk_item_feeds_feed_id_feeds", ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["item_id"], ["items.id"], name="fk_item_feeds_item_id_items", ondelete="CASCADE"
        ),
    )
    op.create_index("ix_item_feeds_item_id", "item_feeds", ["item_id"])
    op.create_index("ix_item_feeds_key", "item_feeds", ["key"])
    op.create_index("ix_item_feeds_first_seen", "item_feeds", ["first_seen"])
    conn = op.get_bind()
    conn.execute(
        sa.text(
            "INSERT INTO item_feeds (feed_id, key, item_id, content_hash, first_seen)"
            " SELECT feed_id, key, id, content_hash, first_seen FROM items"
        )
    )
    stories = _stories(conn)
    merged = group_stories(stories)
    for dup, into in merged.items():
        conn.execute(
            sa.text("UPDATE item_feeds SET item_id = :into WHERE item_id = :dup"),
            {"into": into, "dup": dup},
        )
        conn.execute(
            sa.text("UPDATE items SET merged_into = :into WHERE id = :dup"),
            {"into": into, "dup": dup},
        )


def _stories(conn: sa.Connection) -> list[tuple[int, int, Story]]:
    """Every item's story, computed here (once) and stored in its new columns."""
    stories: list[tuple[int, int, Story]] = []
    rows = conn.execute(sa.text("SELECT id, feed_id, guid, link, title, text FROM items"))
    pending: list[dict[str, object]] = []
    # read whole before writing: SQLite cannot update a table under an open cursor on it
    for row in rows.all():
        story = story_of(row.guid, row.link, row.title, row.text)
        stories.append((row.id, row.feed_id, story))
        if story.link or story.text_hash:
            pending.append({"id": row.id, "link": story.link, "hash": story.text_hash})
    update = sa.text("UPDATE items SET story_link = :link, story_hash = :hash WHERE id = :id")
    for start in range(0, len(pending), _BATCH):
        conn.execute(update, pending[start : start + _BATCH])
    return stories


def downgrade() -> None:
    # merged rows come back as separate items (they were never deleted)
    op.drop_table("item_feeds")
    op.drop_index("ix_items_story_hash", "items")
    op.drop_index("ix_items_story_link", "items")
    with op.batch_alter_table("items") as batch:
        batch.drop_column("merged_into")
        batch.drop_column("story_hash")
        batch.drop_column("story_link")
