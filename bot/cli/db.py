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


@db.command("copy")
@click.argument("target_url", metavar="TARGET_URL")
@pass_ctx
def db_copy(ctx: Context, target_url: str) -> None:
    """Copy this archive, every table, into an empty database at TARGET_URL.

    For moving from SQLite to PostgreSQL: stop the workers, copy, point the config at the
    new database, start them again. The target must be empty; the source is not changed.

    \b
    Example:
      reportbot db copy postgresql://reportbot@db.example.org/reportbot
    """
    from bot.archive import Archive
    from bot.archive.copy import copy_archive

    target = Archive(target_url)
    try:
        with ctx.archive() as source:
            copied = copy_archive(
                source, target, lambda table, n: click.echo(f"{table}: {n} rows", err=True)
            )
    finally:
        target.close()
    click.echo(f"copied {sum(copied.values())} rows into {redact(target_url)}")
