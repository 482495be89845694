"""The archive: feeds, items, fetch log.

Revision ID: 0001
Revises:
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from bot.schema import UTCDateTime

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "feeds",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("key", sa.String(200), nullable=False),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("link", sa.Text, nullable=False),
        sa.Column("url", sa.Text, nullable=False),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column("language", sa.String(35), nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_feeds"),
        sa.UniqueConstraint("key", name="uq_feeds_key"),
    )
    op.create_table(
        "items",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("feed_id", sa.Integer, nullable=False),
        sa.Column("key", sa.Text, nullable=False),
        sa.Column("guid", sa.Text, nullable=False),
        sa.Column("link", sa.Text, nullable=False),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("author", sa.Text, nullable=False),
        sa.Column("published", UTCDateTime),
        sa.Column("updated", UTCDateTime),
        sa.Column("summary", sa.Text, nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("html", sa.Text),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("previous_content_hash", sa.String(64)),
        sa.Column("first_seen", UTCDateTime, nullable=False),
        sa.Column("last_seen", UTCDateTime, nullable=False),
        sa.Column("changed_at", UTCDateTime),
        sa.Column("comments_url", sa.Text, nullable=False),
        sa.Column("comments_feed_url", sa.Text, nullable=False),
        sa.Column("comments_count", sa.Integer),
        sa.Column("image_url", sa.Text, nullable=False),
        sa.Column("image_credit", sa.Text, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_items"),
        sa.ForeignKeyConstraint(
            ["feed_id"], ["feeds.id"], name="fk_items_feed_id_feeds", ondelete="CASCADE"
        ),
        sa.UniqueConstraint("feed_id", "key", name="uq_items_feed_id_key"),
    )
    op.create_index("ix_items_published", "items", ["published"])
    op.create_index("ix_items_guid", "items", ["guid"])
    op.create_table(
        "fetch_log",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("feed_id", sa.Integer),
        sa.Column("at", UTCDateTime, nullable=False),
        sa.Column("source", sa.Text, nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("http_status", sa.Integer),
        sa.Column("new", sa.Integer, nullable=False),
        sa.Column("updated", sa.Integer, nullable=False),
        sa.Column("unchanged", sa.Integer, nullable=False),
        sa.Column("error", sa.Text),
        sa.PrimaryKeyConstraint("id", name="pk_fetch_log"),
        sa.ForeignKeyConstraint(
            ["feed_id"], ["feeds.id"], name="fk_fetch_log_feed_id_feeds", ondelete="CASCADE"
        ),
    )
    op.create_index("ix_fetch_log_feed_id_at", "fetch_log", ["feed_id", "at"])


def downgrade() -> None:
    op.drop_table("fetch_log")
    op.drop_table("items")
    op.drop_table("feeds")
