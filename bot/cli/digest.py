"""Digest commands: digest preview (render without sending)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import click

from bot import config as config_mod
from bot import pipeline
from bot.cli.root import Context, cli, pass_ctx
from bot.errors import ReportbotError
from bot.render import FORMATS


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
    type=click.Choice(FORMATS),
    default="text",
    show_default=True,
    help="E-mail html or text, or a chat payload (JSON).",
)
@click.option(
    "--since",
    type=click.DateTime(["%Y-%m-%d", "%Y-%m-%dT%H:%M"]),
    default=None,
    help="Items first archived since this UTC date (default: the last 7 days).",
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

    SUBSCRIPTION is an id from the config; "demo" works without one (every feed).

    \b
    Example:
      reportbot digest preview demo --format html --out digest.html
      reportbot digest preview weekly --format slack --since 2025-01-01
    """
    cfg = config_mod.load(ctx.config_path)
    start = since.replace(tzinfo=UTC) if since is not None else None
    with ctx.archive() as archive:
        rendered = pipeline.preview_digest(archive, cfg, subscription, fmt, start)
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
