"""Web sign-ups to public subscriptions, their confirmation e-mails, and the web site's
rate-limit hits.

Revision ID: 0013_signups
Revises: 0012_search
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from bot.schema import UTCDateTime

revision = "0013_signups"
down_revision = "0012_search"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "signups",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("subscription", sa.String(64), nullable=False),
        sa.Column("address", sa.Text, nullable=False),
        sa.Column("address_key", sa.String(320), nullable=False),
        sa.Column("confirmed_at", UTCDateTime, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_signups"),
        sa.UniqueConstraint("subscription", "address_key", name="uq_signups_subscription"),
    )
    op.create_table(
        "signup_mails",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("subscription", sa.String(64), nullable=False),
        sa.Column("recipient", sa.Text, nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("next_attempt_at", UTCDateTime),
        sa.Column("lease_until", UTCDateTime),
        sa.Column("last_error", sa.Text),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("sent_at", UTCDateTime),
        sa.PrimaryKeyConstraint("id", name="pk_signup_mails"),
    )
    op.create_index("ix_signup_mails_state", "signup_mails", ["state", "next_attempt_at"])
    op.create_table(
        "rate_hits",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("bucket", sa.String(64), nullable=False),
        sa.Column("at", UTCDateTime, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_rate_hits"),
    )
    op.create_index("ix_rate_hits_bucket", "rate_hits", ["bucket", "at"])


def downgrade() -> None:
    op.drop_table("rate_hits")
    op.drop_table("signup_mails")
    op.drop_table("signups")
