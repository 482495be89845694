"""Archive commands: import, export, archive list / show."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

import click
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from bot import export, pipeline
from bot.cli.facts import print_facts
from bot.cli.root import Context, cli, pass_ctx
from bot.digest import shorten
from bot.errors import InputError, ReportbotError
from bot.extract import claim_parts, top_figures, top_quote
from bot.models import FeedInfo, StoredItem


@cli.command("import")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "--feed",
    "feed_key",
    metavar="ID",
    default=None,
    help="Put the items under this feed id instead of the document's own feed.",
)
@click.option(
    "--keep-going",
    is_flag=True,
    help="Import the files that can be read, list the others (one line each), exit 1.",
)
@pass_ctx
def import_(ctx: Context, paths: tuple[Path, ...], feed_key: str | None, keep_going: bool) -> None:
    """Add the items of feed files (RSS 2.0, RSS 1.0, Atom) or feed dumps to the archive.

    All files are read before anything is written, in one transaction: if one file is bad,
    nothing is imported (unless --keep-going). Importing the same file again adds nothing.

    \b
    Example:
      reportbot import bot/data/communitycare-cspr-feed-dump.txt
      reportbot import --feed cspr saved-feed.xml
    """
    refused: list[InputError] | None = [] if keep_going else None
    with ctx.archive() as archive:
        results = pipeline.import_files(archive, list(paths), feed_key, refused)
    new = sum(len(r.new) for r in results)
    updated = sum(len(r.updated) for r in results)
    unchanged = sum(r.unchanged for r in results)
    for r in results:
        click.echo(
            f"{r.source}: {len(r.new)} new, {len(r.updated)} updated, "
            f"{r.unchanged} unchanged (feed {r.feed_key})"
        )
    if len(results) > 1:
        click.echo(f"total: {new} new, {updated} updated, {unchanged} unchanged")
    if not new and not updated:
        click.echo("nothing new: every item was already in the archive")
    if refused:
        for exc in refused:
            click.echo(f"refused: {exc}", err=True)
        click.echo(f"{len(refused)} of {len(paths)} files refused", err=True)
        raise click.exceptions.Exit(1)


@cli.command("export")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["jsonl", "rss"]),
    default="jsonl",
    show_default=True,
    help="jsonl: one JSON object per item; rss: RSS 2.0.",
)
@click.option(
    "--out",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="Write here instead of standard output.",
)
@click.option("--feed", "feed_key", metavar="ID", default=None, help="Only this feed's items.")
@pass_ctx
def export_(ctx: Context, fmt: str, out: Path | None, feed_key: str | None) -> None:
    """Write the archive's items, newest first by publication date.

    \b
    Example:
      reportbot export --format jsonl --out items.jsonl
      reportbot export --format rss > archive.xml
    """
    with ctx.archive() as archive:
        items = archive.items(feed_key=feed_key)
        feeds = archive.feeds()
    if feed_key is not None and not any(f.key == feed_key for f in feeds):
        raise ReportbotError(f"no feed with id {feed_key!r}; `reportbot archive feeds` lists them")
    chosen = [f for f in feeds if f.key == feed_key] if feed_key else feeds
    channel = chosen[0].info() if len(chosen) == 1 else FeedInfo()
    with _output(out) as stream:
        if fmt == "jsonl":
            export.write_jsonl(items, stream)
        else:
            export.write_rss(items, channel, stream)
    if out is not None:
        click.echo(f"wrote {len(items)} items to {out}", err=True)


@contextmanager
def _output(path: Path | None) -> Iterator[IO[str]]:
    if path is None:
        yield sys.stdout
        return
    tmp = path.with_name(path.name + ".part")
    try:
        with tmp.open("w", encoding="utf-8") as stream:
            yield stream
        tmp.replace(path)  # a failed export never leaves half a file under the real name
    except OSError as exc:
        raise ReportbotError(f"{path}: cannot write: {exc.strerror or exc}") from exc
    finally:
        tmp.unlink(missing_ok=True)


@cli.group()
def archive() -> None:
    """Look at what the archive holds.

    \b
    Example:
      reportbot archive list --limit 5
    """


@archive.command("list")
@click.option("--limit", type=click.IntRange(min=1), default=None, help="At most N items.")
@click.option("--feed", "feed_key", metavar="ID", default=None, help="Only this feed's items.")
@click.option("--facts", is_flag=True, help="Under each item, its top figures and quote.")
@pass_ctx
def archive_list(ctx: Context, limit: int | None, feed_key: str | None, facts: bool) -> None:
    """List archived items, newest first.

    \b
    Example:
      reportbot archive list --limit 10
      reportbot archive list --facts
    """
    with ctx.archive() as arch:
        items = arch.items(limit=limit, feed_key=feed_key)
    if not items:
        click.echo("the archive is empty: add items with `reportbot import PATH`")
        return
    if facts:
        _list_facts(items)
        return
    table = Table(title=f"{len(items)} items, newest first")
    table.add_column("published (UTC)", no_wrap=True)
    table.add_column("title")
    table.add_column("guid", overflow="fold")
    table.add_column("feeds", overflow="fold")  # a story two feeds carried is one row
    table.add_column("comments", justify="right")
    for s in items:
        when = s.item.published.strftime("%Y-%m-%d %H:%M") if s.item.published else "-"
        count = "-" if s.item.comments_count is None else str(s.item.comments_count)
        feeds = ", ".join(s.feed_keys or (s.feed_key,))
        table.add_row(
            when, escape(s.item.title), escape(s.item.guid or s.item.link), escape(feeds), count
        )
    Console().print(table)


def _list_facts(items: list[StoredItem]) -> None:
    console = Console()
    for s in items:
        when = s.item.published.strftime("%Y-%m-%d") if s.item.published else "undated"
        console.print(f"[bold]{escape(s.item.title)}[/] ({when})", highlight=False)
        if s.extraction is None:
            console.print("   no facts yet: run `reportbot reextract`")
            continue
        for f in top_figures(s.extraction):
            before, figure, after = (escape(part) for part in claim_parts(f))
            console.print(f"   • {before}[bold cyan]{figure}[/]{after}", highlight=False)
        quote = top_quote(s.extraction)
        if quote is not None:
            role = f", {quote.role}" if quote.role else ""
            console.print(
                f"   “{shorten(quote.text, 160)}” — {quote.speaker}{role}",
                highlight=False,
                markup=False,
            )
        console.print()


@archive.command("show")
@click.argument("guid")
@pass_ctx
def archive_show(ctx: Context, guid: str) -> None:
    """Show one item in full, found by its GUID (http or https alike) or, lacking one, its link.

    \b
    Example:
      reportbot archive show 'https://www.communitycare.co.uk/?p=216724'
    """
    with ctx.archive() as arch:
        found = arch.find(guid)
    if not found:
        raise ReportbotError(f"no item with GUID {guid!r}; `reportbot archive list` shows them")
    for stored in found:
        _show(stored)


def _show(stored: StoredItem) -> None:
    item = stored.item
    console = Console()
    console.rule(escape(item.title))  # a feed's title is text, not rich markup
    rows = [
        ("feeds", ", ".join(stored.feed_keys or (stored.feed_key,))),
        ("guid", item.guid),
        ("link", item.link),
        ("published", export.iso(item.published) or "-"),
        ("author", item.author or "-"),
        (
            "comments",
            f"{item.comments_count if item.comments_count is not None else '-'} "
            f"{item.comments_url}".strip(),
        ),
        ("image", f"{item.image_url} ({item.image_credit})" if item.image_url else "-"),
        ("first seen", export.iso(stored.first_seen) or "-"),
        (
            "edited",
            "yes, previous hash " + stored.previous_content_hash
            if stored.previous_content_hash
            else "no",
        ),
    ]
    if stored.merged_into is not None:  # kept from before one story per article (0011)
        rows.insert(1, ("merged into", f"item {stored.merged_into} (this copy is not listed)"))
    table = Table(show_header=False, box=None)
    for name, value in rows:
        table.add_row(f"[bold]{name}[/]", escape(value))
    console.print(table)
    console.print(
        f"\n[bold]Summary[/]\n{escape(item.summary)}\n\n[bold]Text[/]\n{escape(item.text)}\n",
        markup=True,
        highlight=False,
        soft_wrap=True,
    )
    if stored.extraction is not None:
        print_facts(console, stored.extraction)
