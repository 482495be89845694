"""The root command group, its shared options and the one-line error handling."""

from __future__ import annotations

import os
import socket
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import click

from bot import __version__, config, logs
from bot.archive import Archive
from bot.errors import ReportbotError


class Context:
    """What every command needs: where the config and the archive are."""

    def __init__(self, config_path: Path | None, database: str | None) -> None:
        self.config_path = config_path
        self.database = database

    def config(self) -> config.Config:
        """The validated config; its secrets are hidden from every log line from now on."""
        loaded = config.load(self.config_path)
        logs.add_secrets(loaded.secret_values())
        return loaded

    @contextmanager
    def archive(self) -> Iterator[Archive]:
        url = config.database_url(self.config(), self.database)
        archive = Archive(url)
        try:
            archive.upgrade()
            yield archive
        finally:
            archive.close()


pass_ctx = click.make_pass_decorator(Context)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="reportbot")
@click.option(
    "--config",
    "config_path",
    type=click.Path(path_type=Path),
    default=None,
    help="Config file (default: $REPORTBOT_CONFIG, else config/reportbot.toml).",
)
@click.option(
    "--database",
    metavar="URL",
    default=None,
    help="Archive database URL (default: $REPORTBOT_DATABASE_URL, else [archive] url, "
    "else sqlite:///state/reportbot.db).",
)
@click.option(
    "--log-format",
    type=click.Choice(logs.FORMATS),
    default="kv",
    show_default=True,
    help="Log lines on stderr: key=value, or one JSON object per line.",
)
@click.option(
    "--log-level",
    type=click.Choice(["debug", "info", "warning", "error"]),
    default="info",
    show_default=True,
)
@click.pass_context
def cli(
    ctx: click.Context,
    config_path: Path | None,
    database: str | None,
    log_format: str,
    log_level: str,
) -> None:
    """Watch report feeds, archive every item once, extract facts, send digests.

    \b
    Example:
      reportbot import bot/data/communitycare-cspr-feed-dump.txt
    """
    logs.setup(log_format, log_level)
    ctx.obj = Context(config_path, database)


def worker_name() -> str:
    """Who holds a lease: host and process, so an operator can tell workers apart."""
    return f"{socket.gethostname()}:{os.getpid()}"[:64]


def run(argv: list[str] | None = None) -> int:
    """Run one command; user errors become one line on stderr and a non-zero code."""
    try:
        result = cli.main(args=argv, standalone_mode=False, prog_name="reportbot")
    except click.ClickException as exc:
        exc.show()
        return exc.exit_code
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except (click.exceptions.Abort, KeyboardInterrupt):
        click.echo("reportbot: interrupted", err=True)
        return 130
    except ReportbotError as exc:
        click.echo(f"reportbot: error: {exc}", err=True)
        return 1
    return result if isinstance(result, int) else 0


def main() -> None:
    """Console entry point."""
    sys.exit(run())
