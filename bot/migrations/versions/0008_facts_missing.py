"""Items whose facts are missing (extraction failed or timed out in the sandbox), and the
URL each feed was configured with (so that an adopted permanent redirect is kept).

Revision ID: 0008
Revises: 0006
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ADD COLUMN (see 0003): a batch rebuild of feeds would cascade to its items.
    op.add_column("items", sa.Column("facts_error", sa.Text))
    op.add_column("feeds", sa.Column("configured_url", sa.Text))


def downgrade() -> None:
    with op.batch_alter_table("feeds") as batch:
        batch.drop_column("configured_url")
    with op.batch_alter_table("items") as batch:
        batch.drop_column("facts_error")
