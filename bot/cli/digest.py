"""Digest commands: digest preview (render without sending)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import click
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from bot import pipeline
from bot.cli.root import Context, cli, pass_ctx, run_async, worker_name
from bot.deliver.channel import preview_formats
from bot.errors import ConfigError, ReportbotError
from bot.models import Delivery, DeliveryState


@cli.group("digest")
def digest_group() -> None:
    """Preview the digests subscribers receive.

    \b
    Example:
      reportbot digest preview demo --format text
    """


@digest_group.command("preview")
@click.argument("subscription")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(preview_formats()),
    default="text",
    show_default=True,
    help="E-mail html or text, or a chat payload (JSON).",
)
@click.option(
    "--since",
    type=click.DateTime(["%Y-%m-%d", "%Y-%m-%dT%H:%M"]),
    default=None,
    help="Start the period at this UTC date (default: where the next digest starts).",
)
@click.option(
    "--out",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="Write here instead of standard output.",
)
@pass_ctx
def digest_preview(
    ctx: Context, subscription: str, fmt: str, since: datetime | None, out: Path | None
) -> None:
    """Render a subscription's digest now; nothing is sent and nothing is recorded.

    It is the subscription's next message, as `digest send` would build it now: the period
    that is due (else the one running so far, or from --since), the same items, the same
    rendering. SUBSCRIPTION is an id from the config; "demo" works without one (every
    feed, the last 7 days).

    \b
    Example:
      reportbot digest preview demo --format html --out digest.html
      reportbot digest preview weekly --format slack --since 2025-01-01
    """
    cfg = ctx.config()
    start = since.replace(tzinfo=UTC) if since is not None else None
    with ctx.archive() as archive:
        rendered = pipeline.preview_digest(archive, cfg, subscription, fmt=fmt, since=start)
    text = rendered.body if fmt in ("html", "text") else "\n".join(rendered.payloads) + "\n"
    if out is None:
        click.echo(text, nl=False)
        return
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise ReportbotError(f"{out}: cannot write: {exc.strerror or exc}") from exc
    click.echo(f"wrote {fmt} digest ({rendered.subject}) to {out}", err=True)


@digest_group.command("send")
@click.argument("subscription", required=False)
@click.option(
    "--now",
    "now_period",
    is_flag=True,
    help="Send the current period at once instead of waiting for the schedule.",
)
@pass_ctx
def digest_send(ctx: Context, subscription: str | None, now_period: bool) -> None:
    """Send the digests that are due (all subscriptions, or one), then retry failed sends.

    Digest subscriptions send their period when its schedule time has passed; `each`
    subscriptions send every item archived since the last run. Running it twice sends
    nothing the second time. The worker (`reportbot run`) does this on every tick.

    \b
    Example:
      reportbot digest send
      reportbot digest send weekly --now
    """
    cfg = ctx.config()
    owner = worker_name()
    with ctx.archive() as archive:
        summary = run_async(
            lambda stop: pipeline.deliver_cycle(
                archive, cfg, owner, only=subscription, now_period=now_period, stop=stop
            )
        )
    click.echo(summary.line)
    if summary.problems:  # the rest went; these wait, pending, until the problem is fixed
        more = f" (and {len(summary.problems) - 1} more)" if len(summary.problems) > 1 else ""
        raise ConfigError(
            f"{summary.problems[0]}{more}: {summary.held} deliveries wait until it is fixed"
        )


@cli.group("deliveries", invoke_without_command=True)
@click.option(
    "--state",
    type=click.Choice([state.value for state in DeliveryState]),
    default=None,
    help="Only deliveries in this state.",
)
@click.pass_context
def deliveries_group(click_ctx: click.Context, state: str | None) -> None:
    """List the outbox: every message, its state, attempts and last error.

    \b
    Example:
      reportbot deliveries --state failed
      reportbot deliveries retry 12
    """
    if click_ctx.invoked_subcommand is not None:
        return
    ctx: Context = click_ctx.obj
    with ctx.archive() as archive:
        rows = archive.deliveries(DeliveryState(state) if state else None)
    if not rows:
        click.echo("no deliveries" + (f" in state {state}" if state else ""))
        return
    table = Table(title=f"{len(rows)} deliveries")
    for name in ("id", "subscription", "recipient", "period end (UTC)", "state", "tries", "error"):
        table.add_column(name, overflow="fold")
    for d in rows:
        table.add_row(
            str(d.id),
            escape(d.subscription),
            escape(d.recipient),
            d.period_end.strftime("%Y-%m-%d %H:%M"),
            d.state.value,
            str(d.attempts),
            escape(_error_and_next(d)),  # whole: its end says what to fix (wrapped)
        )
    Console().print(table)


def _error_and_next(d: Delivery) -> str:
    """The last error, and when the delivery is tried again (or that it was given up)."""
    from bot.deliver.decide import when_next

    note = when_next(d.state, attempts=d.attempts, retry_at=d.next_attempt_at)
    return "; ".join(part for part in (d.last_error or "", note) if part)


@deliveries_group.command("retry")
@click.argument("delivery_id", metavar="ID", type=int)
@pass_ctx
def deliveries_retry(ctx: Context, delivery_id: int) -> None:
    """Queue a delivery again: failed, unknown, dead, or pending but held by a problem now
    fixed (it goes out with the next `digest send`).

    \b
    Example:
      reportbot deliveries retry 12
    """
    with ctx.archive() as archive:
        if not archive.retry_delivery(delivery_id):
            raise ReportbotError(
                f"no pending, failed, unknown or dead delivery with id {delivery_id}"
            )
    click.echo(f"delivery {delivery_id} is pending again")
