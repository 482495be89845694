"""Fact commands: extract (any article) and reextract (the whole archive)."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

import click
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from bot import pipeline
from bot.cli.root import Context, cli, pass_ctx
from bot.digest import shorten
from bot.errors import InputError
from bot.extract import extract
from bot.models import Extraction, claim_parts, extraction_to_json


def print_facts(console: Console, extraction: Extraction) -> None:
    figures = Table(title=f"Key figures (extractor {extraction.version})", show_lines=False)
    for name in ("figure", "kind", "core", "salience", "claim"):
        figures.add_column(name, overflow="fold")
    for f in extraction.figures:
        core = {True: "yes", False: "no", None: "?"}[f.core]
        if f.claim:  # the claim with its figure in bold, as digests show it
            before, figure, after = claim_parts(f)
            claim = f"{escape(before)}[bold]{escape(figure)}[/]{escape(after)}"
        else:
            claim = escape(shorten(f.sentence, 160))
        figures.add_row(*(escape(v) for v in (f.text, f.kind, core, f"{f.salience:.2f}")), claim)
    console.print(figures)
    quotes = Table(title="Quotes")
    for name in ("kind", "speaker", "role", "quote"):
        quotes.add_column(name, overflow="fold")
    for q in extraction.quotes:
        quotes.add_row(
            *(escape(v) for v in (q.kind, q.speaker or "(unknown)", q.role, shorten(q.text, 160)))
        )
    console.print(quotes)


@cli.command("extract")
@click.argument("files", nargs=-1, type=click.Path(path_type=Path, allow_dash=True))
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["json", "text"]),
    default="json",
    show_default=True,
    help="json: one object per file; text: readable tables.",
)
@click.option(
    "--title",
    default="",
    help="The article's headline (and standfirst): figures it repeats rank first.",
)
def extract_cmd(files: tuple[Path, ...], fmt: str, title: str) -> None:
    """Extract key figures and quotes from articles (plain text or HTML, detected).

    Reads standard input when no FILE (or -) is given. With several files, prints one JSON
    object per line.

    \b
    Example:
      reportbot extract article.txt
      curl -s https://example.org/a.html | reportbot extract - --format text
      reportbot extract article.txt --title "Neglect a factor in 49% of cases"
    """
    for path in files or (Path("-"),):
        result = extract(_read_article(path), title=title)
        if fmt == "text":
            print_facts(Console(), result)
            continue
        data = extraction_to_json(result)
        click.echo(
            json.dumps({"figures": data["figures"], "quotes": data["quotes"]}, ensure_ascii=False)
        )


def _read_article(path: Path) -> str:
    try:
        data = sys.stdin.buffer.read() if str(path) == "-" else path.read_bytes()
    except FileNotFoundError as exc:
        raise InputError(str(path), "no such file") from exc
    except OSError as exc:
        raise InputError(str(path), f"cannot read: {exc.strerror or exc}") from exc
    # Undecodable bytes become U+FFFD: garbage in gives empty results, never a crash.
    return data.decode("utf-8", errors="replace")


@cli.command("reextract")
@click.option(
    "--missing",
    is_flag=True,
    help="Only the items stored without facts (their extraction failed or timed out).",
)
@pass_ctx
def reextract_cmd(ctx: Context, missing: bool) -> None:
    """Recompute archived items' figures and quotes with this version's extractor, in the
    sandbox with the [worker] limits (parse_timeout, parse_memory_mb).

    With --missing, only the items the poller stored without facts because extraction
    failed or hit those limits; an item that fails again keeps its facts missing.

    \b
    Example:
      reportbot reextract
      reportbot reextract --missing
    """
    from rich.progress import Progress

    cfg = ctx.config()
    with ctx.archive() as arch, Progress(transient=True) as progress:
        task = progress.add_task("extracting", total=None)

        def advance(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)

        summary = asyncio.run(
            pipeline.reextract(arch, cfg.worker, missing_only=missing, progress=advance)
        )
    line = f"re-extracted facts of {summary.items} items"
    if summary.missing:
        line += (
            f"; {summary.missing} still without facts (extraction failed again within the "
            "[worker] limits parse_timeout and parse_memory_mb)"
        )
    click.echo(line)
