"""Search: the full-text index (SQLite FTS5, PostgreSQL weighted tsvector with GIN), the
facts it indexes per item, and the quotes table the speakers pages read; all filled for the
items already archived (see bot.archive.index).

Revision ID: 0012_search
Revises: 0011_item_feeds
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from bot.archive import index
from bot.models import extraction_from_json
from bot.schema import UTCDateTime

revision = "0012_search"
down_revision = "0011_item_feeds"
branch_labels = None
depends_on = None

_BATCH = 1000


def upgrade() -> None:
    # Plain ADD COLUMN (see 0003): a batch rebuild of items would cascade.
    op.add_column("items", sa.Column("search_facts", sa.Text, nullable=False, server_default=""))
    op.add_column(
        "items", sa.Column("figure_count", sa.Integer, nullable=False, server_default="0")
    )
    op.create_index("ix_items_feed_id_published", "items", ["feed_id", "published"])
    op.create_table(
        "quotes",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "item_id",
            sa.Integer,
            sa.ForeignKey("items.id", ondelete="CASCADE", name="fk_quotes_item_id_items"),
            nullable=False,
        ),
        sa.Column("speaker", sa.Text, nullable=False),
        sa.Column("speaker_key", sa.Text, nullable=False),
        sa.Column("role", sa.Text, nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("span_start", sa.Integer, nullable=False),
        sa.Column("span_end", sa.Integer, nullable=False),
        sa.Column("quoted_at", UTCDateTime, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_quotes"),
    )
    _fill_facts()
    op.create_index("ix_quotes_speaker_key", "quotes", ["speaker_key", "quoted_at", "id"])
    op.create_index("ix_quotes_item_id", "quotes", ["item_id"])
    conn = op.get_bind()
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql(index.FTS_CREATE)
        index.rebuild(conn)
        return
    # the column filled in one statement, then the trigger and the indexes (faster than
    # maintaining the GIN index row by row)
    for statement in index.PG_CONFIG_CREATE:
        conn.exec_driver_sql(statement)
    conn.exec_driver_sql("ALTER TABLE items ADD COLUMN search tsvector")
    conn.exec_driver_sql(index.PG_FUNCTION)
    conn.exec_driver_sql(index.PG_TRIGGER)
    index.rebuild(conn)
    for statement in index.PG_INDEXES:
        conn.exec_driver_sql(statement)


def _fill_facts() -> None:
    """search_facts, figure_count and quotes from every item's stored facts, in batches."""
    conn = op.get_bind()
    items = sa.table(
        "items",
        sa.column("id", sa.Integer),
        sa.column("facts", sa.JSON),
        sa.column("published", UTCDateTime),
        sa.column("first_seen", UTCDateTime),
        sa.column("search_facts", sa.Text),
        sa.column("figure_count", sa.Integer),
    )
    update = (
        items.update()
        .where(items.c.id == sa.bindparam("row_id"))
        .values(search_facts=sa.bindparam("facts_text"), figure_count=sa.bindparam("figures"))
    )
    quotes = sa.table(
        "quotes",
        *(
            sa.column(name)
            for name in ("item_id", "speaker", "speaker_key", "role", "text", "span_start")
        ),
        sa.column("span_end"),
        sa.column("quoted_at", UTCDateTime),
    )
    last = 0
    while True:
        rows = conn.execute(
            sa.select(items.c.id, items.c.facts, items.c.published, items.c.first_seen)
            .where(items.c.id > last, items.c.facts.is_not(None))
            .order_by(items.c.id)
            .limit(_BATCH)
        ).all()
        if not rows:
            return
        last = rows[-1].id
        changes, quote_rows = [], []
        for row in rows:
            facts = extraction_from_json(row.facts) if row.facts else None
            changes.append(
                {
                    "row_id": row.id,
                    "facts_text": index.facts_text(facts),
                    "figures": index.figure_count(facts),
                }
            )
            quote_rows += index.quote_rows(row.id, row.published or row.first_seen, facts)
        conn.execute(update, changes)
        if quote_rows:
            conn.execute(quotes.insert(), quote_rows)


def downgrade() -> None:
    conn = op.get_bind()
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql(f"DROP TABLE IF EXISTS {index.FTS_TABLE}")
    else:
        conn.exec_driver_sql("DROP TRIGGER IF EXISTS items_search ON items")
        conn.exec_driver_sql("DROP FUNCTION IF EXISTS items_search_vector()")
        conn.exec_driver_sql("DROP INDEX IF EXISTS ix_items_title_tsv")
        conn.exec_driver_sql("ALTER TABLE items DROP COLUMN IF EXISTS search")
        conn.exec_driver_sql(f"DROP TEXT SEARCH CONFIGURATION IF EXISTS {index.PG_CONFIG}")
        conn.exec_driver_sql(f"DROP TEXT SEARCH DICTIONARY IF EXISTS {index.PG_CONFIG}_stem")
    op.drop_table("quotes")
    op.drop_index("ix_items_feed_id_published", "items")
    with op.batch_alter_table("items") as batch:
        batch.drop_column("figure_count")
        batch.drop_column("search_facts")
