"""Polling state on feeds (validators, schedule, lease, health, redirects) and admin events.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from bot.schema import UTCDateTime

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def _feed_columns() -> list[sa.Column]:  # type: ignore[type-arg]
    return [
        sa.Column("etag", sa.Text),
        sa.Column("last_modified", sa.Text),
        sa.Column("next_poll_at", UTCDateTime),
        sa.Column("lease_until", UTCDateTime),
        sa.Column("lease_owner", sa.String(64)),
        sa.Column("error_count", sa.Integer, nullable=False, server_default="0"),
        sa.Column("last_error", sa.Text),
        sa.Column("last_status", sa.Integer),
        sa.Column("last_polled_at", UTCDateTime),
        sa.Column("last_success_at", UTCDateTime),
        sa.Column("healthy", sa.Boolean, nullable=False, server_default=sa.true()),
        sa.Column("redirect_url", sa.Text),
        sa.Column("redirect_count", sa.Integer, nullable=False, server_default="0"),
    ]


def upgrade() -> None:
    # Plain ADD COLUMN, which SQLite supports: a batch "copy and move" of feeds would drop
    # the old table, and with foreign keys on, its items with it.
    for column in _feed_columns():
        op.add_column("feeds", column)
    op.create_index("ix_feeds_next_poll_at", "feeds", ["next_poll_at"])
    op.create_table(
        "events",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("at", UTCDateTime, nullable=False),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("feed_id", sa.Integer),
        sa.Column("message", sa.Text, nullable=False),
        sa.Column("delivered_at", UTCDateTime),
        sa.PrimaryKeyConstraint("id", name="pk_events"),
        sa.ForeignKeyConstraint(
            ["feed_id"], ["feeds.id"], name="fk_events_feed_id_feeds", ondelete="CASCADE"
        ),
    )
    op.create_index("ix_events_delivered_at", "events", ["delivered_at"])


def downgrade() -> None:
    op.drop_table("events")
    with op.batch_alter_table("feeds") as batch:
        batch.drop_index("ix_feeds_next_poll_at")
        for column in (
            "redirect_count",
            "redirect_url",
            "healthy",
            "last_success_at",
            "last_polled_at",
            "last_status",
            "last_error",
            "error_count",
            "lease_owner",
            "lease_until",
            "next_poll_at",
            "last_modified",
            "etag",
        ):
            batch.drop_column(column)
