"""Which config each worker runs (a short hash of the file) and when it loaded it, so that
`reportbot status` shows whether a live reload took effect.

Revision ID: 0010
Revises: 0008
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from bot.schema import UTCDateTime

revision = "0010"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ADD COLUMN (see 0003); nullable: rows of workers that ran an older version.
    op.add_column("workers", sa.Column("config_version", sa.String(16)))
    op.add_column("workers", sa.Column("config_loaded_at", UTCDateTime))


def downgrade() -> None:
    with op.batch_alter_table("workers") as batch:
        batch.drop_column("config_loaded_at")
        batch.drop_column("config_version")
