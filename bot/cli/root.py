"""The root command group, its shared options and the one-line error handling.

Start-up is kept short (`--help`, `status` and `config check` within 0.3 s, bench/cli_start.py):
the subcommands are listed in COMMANDS with their one-line help and their module is imported
only when one of them runs, and this module imports neither the config models (pydantic) nor
the archive (SQLAlchemy) until a command asks for them.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from bot import __version__, logs
from bot.cli.lazy import Lazy, LazyGroup
from bot.errors import ReportbotError

if TYPE_CHECKING:
    import asyncio
    from collections.abc import Callable, Coroutine

    from bot import config
    from bot.archive import Archive

T = TypeVar("T")

# name → where the command lives and its one-line help (the first sentence of its docstring,
# which tests/test_cli_help.py compares): `reportbot --help` lists these without importing any.
COMMANDS = {
    "admin": Lazy("bot.cli.admin:admin_group", "Set up the web site's admin login."),
    "archive": Lazy("bot.cli.archive:archive", "Look at what the archive holds."),
    "config": Lazy("bot.cli.feeds:config_group", "Check the configuration file."),
    "db": Lazy("bot.cli.db:db", "Manage the archive database."),
    "deliveries": Lazy(
        "bot.cli.digest:deliveries_group",
        "List the outbox: every message, its state, attempts and last error.",
    ),
    "digest": Lazy("bot.cli.digest:digest_group", "Preview the digests subscribers receive."),
    "export": Lazy(
        "bot.cli.archive:export_", "Write the archive's items, newest first by publication date."
    ),
    "extract": Lazy(
        "bot.cli.facts:extract_cmd",
        "Extract key figures and quotes from articles (plain text or HTML, detected).",
    ),
    "feeds": Lazy(
        "bot.cli.feeds:feeds_group", "List, add, remove and test the feeds in the config file."
    ),
    "health": Lazy(
        "bot.cli.poll:health_cmd",
        "Exit 0 if the database answers, its schema is current and a worker ticked recently; "
        "otherwise print what is wrong in one line and exit 1.",
    ),
    "import": Lazy(
        "bot.cli.archive:import_",
        "Add the items of feed files (RSS 2.0, RSS 1.0, Atom) or feed dumps to the archive.",
    ),
    "poll": Lazy(
        "bot.cli.poll:poll_cmd", "Poll the due feeds once, in the foreground, with a progress bar."
    ),
    "reextract": Lazy(
        "bot.cli.facts:reextract_cmd",
        "Recompute archived items' figures and quotes with this version's extractor, in the "
        "sandbox with the [worker] limits (parse_timeout, parse_memory_mb).",
    ),
    "run": Lazy(
        "bot.cli.poll:run_cmd",
        "Run the worker: on every tick poll the due feeds, then send what is due, until "
        "SIGTERM or Ctrl-C.",
    ),
    "status": Lazy(
        "bot.cli.poll:status_cmd",
        "Show the configured feeds (last poll, HTTP status, new items, errors in full, next "
        "poll, health), the workers seen in the last day (with the config version each "
        "runs) and the outbox by state.",
    ),
    "subscribers": Lazy(
        "bot.cli.subscribers:subscribers_group",
        "List, add and remove the e-mail subscribers of a subscription.",
    ),
    "web": Lazy(
        "bot.cli.web:web_cmd",
        "Serve the web site: latest items, item pages, search, speakers, unsubscribe.",
    ),
}


class Context:
    """What every command needs: where the config and the archive are."""

    def __init__(self, config_path: Path | None, database: str | None) -> None:
        self.config_path = config_path
        self.database = database

    def config(self) -> config.Config:
        """The validated config; its secrets are hidden from every log line from now on."""
        from bot import config

        loaded = config.load(self.config_path)
        logs.add_secrets(loaded.secret_values())
        return loaded

    @contextmanager
    def archive(self) -> Iterator[Archive]:
        from bot import config
        from bot.archive import Archive

        url = config.database_url(self.config(), self.database)
        archive = Archive(url)
        try:
            archive.upgrade()
            yield archive
        finally:
            archive.close()


pass_ctx = click.make_pass_decorator(Context)


@click.group(
    cls=LazyGroup,
    lazy_commands=COMMANDS,
    context_settings={"help_option_names": ["-h", "--help"]},
)
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
    import socket  # only the commands that take leases need it

    return f"{socket.gethostname()}:{os.getpid()}"[:64]


def run_async(work: Callable[[asyncio.Event], Coroutine[Any, Any, T]]) -> T:
    """Run `work(stop)` in an event loop, with Ctrl-C handled by the loop: it sets `stop`
    and cancels the work, which tidies up (leases given back, outcomes recorded) before
    KeyboardInterrupt ends the command (exit 130, one line). Unlike asyncio.run's own
    handling, a Ctrl-C never raises inside a database write, and a work that swallows the
    cancellation still ends as interrupted. A second Ctrl-C while it tidies up is ignored."""
    import asyncio
    import signal

    interrupted = False

    async def main() -> T:
        nonlocal interrupted
        stop = asyncio.Event()
        task = asyncio.current_task()
        assert task is not None

        def on_interrupt() -> None:
            nonlocal interrupted
            if not interrupted:
                interrupted = True
                stop.set()
                task.cancel()

        loop = asyncio.get_running_loop()
        loop.add_signal_handler(signal.SIGINT, on_interrupt)
        try:
            return await work(stop)
        finally:
            loop.remove_signal_handler(signal.SIGINT)

    try:
        result = asyncio.run(main())
    except asyncio.CancelledError:
        if interrupted:
            raise KeyboardInterrupt from None
        raise
    if interrupted:
        raise KeyboardInterrupt
    return result


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
