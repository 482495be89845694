"""Worker commands: poll (one cycle now), run (the scheduled worker), status (feed health)."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import click
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from bot import config as config_mod
from bot import pipeline
from bot.cli.root import Context, cli, pass_ctx, run_async, worker_name
from bot.decide import RULES
from bot.errors import ConfigError, ReportbotError

if TYPE_CHECKING:  # `status` starts without these (bench/cli_start.py)
    import asyncio

    from bot.archive import Archive, FeedStatus
    from bot.webapp.serve import Background

log = logging.getLogger("reportbot.worker")


@cli.command("poll")
@click.option(
    "--feed",
    "feed_id",
    metavar="ID",
    default=None,
    help="Poll only this configured feed, due or not.",
)
@click.option(
    "--all",
    "every",
    is_flag=True,
    help="Poll every configured feed now, due or not (after changing something).",
)
@pass_ctx
def poll_cmd(ctx: Context, feed_id: str | None, every: bool) -> None:
    """Poll the due feeds once, in the foreground, with a progress bar.

    Exits 0 when the cycle ran, even if some feeds failed (they are listed).

    \b
    Example:
      reportbot poll
      reportbot poll --all
      reportbot poll --feed cspr
    """
    from rich.progress import Progress

    if every and feed_id is not None:
        raise click.UsageError("--all and --feed exclude each other: give one of them")
    cfg = ctx.config()
    with ctx.archive() as archive, Progress(transient=True) as bar:
        task = bar.add_task("polling", total=None)

        def advance(outcome: pipeline.PollOutcome) -> None:
            bar.advance(task)

        owner = worker_name()
        summary = run_async(
            lambda stop: pipeline.poll_cycle(
                archive, cfg, owner, only=feed_id, every=every, progress=advance, stop=stop
            )
        )
    for outcome in summary.outcomes:
        if outcome.error:
            click.echo(f"{outcome.key}: failed: {outcome.error}", err=True)
    click.echo(summary.line)


@cli.command("run")
@click.option(
    "--tick",
    type=click.FloatRange(min=1),
    default=60.0,
    show_default=True,
    help="Seconds between looks for due feeds.",
)
@pass_ctx
def run_cmd(ctx: Context, tick: float) -> None:
    """Run the worker: on every tick poll the due feeds, then send what is due, until
    SIGTERM or Ctrl-C. With [web] configured it also serves the web site (as `reportbot web` does).

    Several workers may share one PostgreSQL archive: each feed and each delivery is leased
    to one worker at a time.

    The config file is read again at each tick when it changed, and after SIGHUP: a valid new
    version takes effect without a restart ([archive], [web] and [metrics] excepted), one with
    problems is refused in the log and the running one stays. `reportbot status` shows which
    version each worker runs.

    \b
    Example:
      reportbot run
      kill -HUP <pid>    # read the config again now
    """
    from bot.pipeline.worker import ConfigWatch
    from bot.scheduler import run_forever

    cfg = ctx.config()
    watch = ConfigWatch(config_mod.config_path(ctx.config_path)[0], cfg)
    owner = worker_name()
    started = datetime.now(UTC)
    with ctx.archive() as archive:
        web = _serve_web(cfg, archive) if cfg.web is not None else None
        metrics, metrics_server = None, None
        if cfg.metrics is not None:
            from bot.metrics import Metrics

            metrics = Metrics(archive)
            metrics_server = metrics.serve(cfg.metrics.listen)
            log.info("serving metrics", extra={"listen": cfg.metrics.listen})

        async def cycle(stop: asyncio.Event) -> object:
            live = watch.refresh()
            return await pipeline.tick(
                archive,
                live.config,
                owner=owner,
                started=started,
                stop=stop,
                metrics=metrics,
                live=live,
            )

        log.info(
            "worker started",
            extra={
                "worker": owner,
                "feeds": len(cfg.feeds),
                "tick": tick,
                "config": watch.live.version,
            },
        )
        try:
            stopped_by = run_forever(cycle, tick, on_hangup=watch.request)
        finally:
            for server in (web, metrics_server):
                if server is not None:
                    server.shutdown()
    log.info("worker stopped", extra={"worker": owner})
    if stopped_by is not None and stopped_by.name == "SIGINT":
        raise KeyboardInterrupt  # Ctrl-C: "interrupted", exit 130; SIGTERM is a normal stop


def _serve_web(cfg: config_mod.Config, archive: Archive) -> Background:
    """The whole site, in a thread beside the worker (its own connection pool)."""
    from bot.webapp import create_app
    from bot.webapp.serve import Background

    assert cfg.web is not None
    if cfg.web.admin_password_hash_env:
        cfg.web.admin_password_hash()  # a broken hash: one line now, not failed logins later
    server = Background(create_app(cfg, archive.url), cfg.web.listen).start()
    log.info("serving the web site", extra={"listen": cfg.web.listen})
    return server


@cli.command("status")
@click.option(
    "--all",
    "every",
    is_flag=True,
    help="Also list feeds no longer in the config (removed, or only ever imported).",
)
@pass_ctx
def status_cmd(ctx: Context, every: bool) -> None:
    """Show the configured feeds (last poll, HTTP status, new items, errors in full, next
    poll, health), the workers seen in the last day (with the config version each runs) and
    the outbox by state.

    A worker that has not ticked for an hour is shown as gone; after a day it is no longer
    listed.

    \b
    Example:
      reportbot status
      reportbot status --all
    """
    from bot.archive import FeedStatus
    from bot.pipeline.worker import FORGOTTEN_AFTER

    cfg = ctx.config()
    configured = {f.id for f in cfg.feeds}
    with ctx.archive() as archive:
        rows = archive.feed_status(keys=None if every else sorted(configured))
        hidden = 0 if every or rows else len(archive.feed_status())
        workers = archive.workers(since=datetime.now(UTC) - FORGOTTEN_AFTER)
        outbox = archive.outbox_counts()
        retry_at = archive.next_retry() if outbox.get("failed") or outbox.get("unknown") else None
    _print_workers(workers, outbox, retry_at)
    seen = {r.key for r in rows}
    # configured feeds no poll has seen yet (not synced to the archive)
    rows += [FeedStatus.never_polled(f.id, f.url) for f in cfg.feeds if f.id not in seen]
    rows.sort(key=lambda r: str(r.key))
    if not rows:
        more = f" ({hidden} not in the config: `reportbot status --all`)" if hidden else ""
        click.echo(f"no feeds configured: add one with `reportbot feeds add URL`{more}")
        return
    table = Table(title="Feeds")
    for name in ("feed", "last poll (UTC)", "HTTP", "new"):
        table.add_column(name)
    table.add_column("errors", overflow="fold")  # the whole message, wrapped, never cut
    for name in ("next poll (UTC)", "health"):
        table.add_column(name)
    for r in rows:
        when = r.last_polled_at.strftime("%Y-%m-%d %H:%M") if r.last_polled_at else "never"
        errors = str(r.error_count)
        if r.last_error:
            errors += f" ({escape(r.last_error)})"
        key = escape(r.key)
        if r.key not in configured:
            key += " (removed)" if r.last_polled_at else " (imported)"
        table.add_row(
            key,
            when,
            str(r.last_status or "-"),
            "-" if r.new is None else str(r.new),
            errors,
            _next_poll(r, configured=r.key in configured),
            "ok" if r.healthy else "[red]unhealthy[/]",
        )
    Console().print(table)
    for line in _redirect_notes(rows):
        click.echo(line)


def _next_poll(row: FeedStatus, *, configured: bool) -> str:
    """A feed not in the config is never polled, whatever its row says."""
    if not configured:
        return "not polled"
    nxt = row.next_poll_at
    return nxt.strftime("%Y-%m-%d %H:%M") if nxt else "now"


def _redirect_notes(rows: list[FeedStatus]) -> list[str]:
    """Permanent redirects: adopted (the config can be updated), being checked, or refused
    because the new URL does not answer with a feed (the configured URL is kept)."""
    notes = []
    for r in rows:
        key, target = r.key, r.redirect_url
        if r.url != r.configured_url:
            notes.append(
                f"{key}: moved permanently to {r.url}; polled there (update the config's "
                f"url from {r.configured_url})"
            )
        if target and r.redirect_count:
            notes.append(
                f"{key}: redirects permanently to {target}, which answered with a feed on "
                f"{r.redirect_count} poll(s) in a row; adopted after {RULES.redirect_polls}"
            )
        elif target:
            notes.append(
                f"{key}: redirects permanently to {target}, which did not answer with a feed; "
                f"still polling {r.url}"
            )
    return notes


def _print_workers(
    workers: list[dict[str, Any]], outbox: dict[str, int], retry_at: datetime | None = None
) -> None:
    from bot.pipeline.worker import Presence, presence

    now = datetime.now(UTC)
    if workers:
        table = Table(title="Workers")
        for name in ("worker", "version", "started (UTC)", "last tick", "config (loaded UTC)"):
            table.add_column(name)
        for w in workers[:20]:
            started, last = w["started_at"], w["last_tick_at"]
            ago = int((now - last).total_seconds())
            seen = f"{ago} s ago" if ago < 3600 else last.strftime("%Y-%m-%d %H:%M")
            if presence(last, now) is Presence.GONE:
                seen = f"[yellow]gone[/] (last {seen})"
            loaded = w.get("config_loaded_at")
            config = escape(w.get("config_version") or "-")
            if loaded is not None:
                config += f" ({loaded.strftime('%Y-%m-%d %H:%M:%S')})"
            table.add_row(
                escape(str(w["name"])),
                escape(str(w["version"])),
                started.strftime("%Y-%m-%d %H:%M"),
                seen,
                config,
            )
        Console().print(table)
    else:
        click.echo("no worker has ticked in the last day: start one with `reportbot run`")
    if outbox:
        line = "outbox: " + ", ".join(f"{n} {state}" for state, n in sorted(outbox.items()))
        if retry_at is not None:
            from bot.deliver.decide import when_next
            from bot.models import DeliveryState

            line += f"; next {when_next(DeliveryState.FAILED, attempts=0, retry_at=retry_at)}"
        if outbox.get("dead"):
            line += "; dead ones gave up: `reportbot deliveries --state dead` says why"
        click.echo(line)


@cli.command("health")
@click.option(
    "--max-age",
    default="5m",
    show_default=True,
    help="How old the last worker tick may be.",
)
@pass_ctx
def health_cmd(ctx: Context, max_age: str) -> None:
    """Exit 0 if the database answers, its schema is current and a worker ticked recently;
    otherwise print what is wrong in one line and exit 1. Changes nothing.

    \b
    Example:
      reportbot health --max-age 3m
    """
    from bot import health

    try:
        limit = timedelta(seconds=config_mod.parse_duration(max_age))
    except ValueError as exc:
        raise ConfigError(f"--max-age: {exc}") from exc
    url = config_mod.database_url(ctx.config(), ctx.database)
    found = health.problems(url, limit)
    if found:
        raise ReportbotError(found[0])
    click.echo("healthy")
