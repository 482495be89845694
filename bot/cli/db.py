"""Database commands."""

from __future__ import annotations

import click

from bot.archive import redact
from bot.cli.root import Context, cli, pass_ctx


@cli.group()
def db() -> None:
    """Manage the archive database.

    \b
    Example:
      reportbot db upgrade
    """


@db.command("upgrade")
@pass_ctx
def db_upgrade(ctx: Context) -> None:
    """Apply any pending migrations (also done automatically by every command).

    \b
    Example:
      REPORTBOT_DATABASE_URL=postgresql://localhost/reportbot reportbot db upgrade
    """
    with ctx.archive() as arch:
        click.echo(f"archive at {redact(arch.url)} is at the newest schema")
