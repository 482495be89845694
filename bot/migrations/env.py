"""Alembic environment: always run by bot.archive with a live connection (no alembic.ini)."""

from __future__ import annotations

from alembic import context

from bot.schema import metadata

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=connection.dialect.name == "sqlite",  # SQLite cannot ALTER most things
)
with context.begin_transaction():
    context.run_migrations()
