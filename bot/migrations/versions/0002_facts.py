"""Facts extracted from each item (figures and quotes) and the extractor's version.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("items") as batch:
        batch.add_column(sa.Column("facts", sa.JSON))
        batch.add_column(sa.Column("extractor_version", sa.String(20)))


def downgrade() -> None:
    with op.batch_alter_table("items") as batch:
        batch.drop_column("extractor_version")
        batch.drop_column("facts")
