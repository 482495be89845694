"""Chat and per-item deliveries (item, parts sent, uncertain) and the unsubscribe list.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from bot.schema import UTCDateTime

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ADD COLUMN (see 0003): no batch copy of a table other rows point at.
    op.add_column("deliveries", sa.Column("item_id", sa.Integer))
    op.add_column(
        "deliveries", sa.Column("parts_sent", sa.Integer, nullable=False, server_default="0")
    )
    op.add_column(
        "deliveries",
        sa.Column("uncertain", sa.Boolean, nullable=False, server_default=sa.false()),
    )
    op.create_table(
        "unsubscribes",
        sa.Column("subscription", sa.String(64), nullable=False),
        sa.Column("address", sa.String(320), nullable=False),
        sa.Column("at", UTCDateTime, nullable=False),
        sa.Column("via", sa.String(20), nullable=False),
        sa.PrimaryKeyConstraint("subscription", "address", name="pk_unsubscribes"),
    )


def downgrade() -> None:
    op.drop_table("unsubscribes")
    with op.batch_alter_table("deliveries") as batch:
        batch.drop_column("uncertain")
        batch.drop_column("parts_sent")
        batch.drop_column("item_id")
