"""Config commands: config check, feeds list / add / remove / test / import / export.

`feeds add` and `feeds remove` edit the config file with tomlkit, which keeps the admin's
comments and layout; the edited file is validated before it replaces the old one.

`config check` must start fast (bench/cli_start.py): what only the feeds commands need (the
fetcher, the discovery pipeline, OPML, tomlkit, rich, asyncio) is imported inside them.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

import click

from bot import config as config_mod
from bot import pipeline
from bot.cli.root import Context, cli, pass_ctx
from bot.errors import ConfigError


@cli.group("config")
def config_group() -> None:
    """Check the configuration file.

    \b
    Example:
      reportbot config check
    """


@config_group.command("check")
@click.option(
    "--no-env",
    is_flag=True,
    help="Do not check that the environment variables and url_file the config names are set "
    "(for checking a config away from its secrets).",
)
@pass_ctx
def config_check(ctx: Context, no_env: bool) -> None:
    """Print every problem in the config at once, with its key path; exit 2 if any.
    Warnings (what works but should be known) are printed too and do not fail.

    Also checks that every variable it names (url_env, secret_env, password_env) is set.

    \b
    Example:
      reportbot config check
      reportbot --config deploy/reportbot.toml config check --no-env
    """
    found = config_mod.problems(ctx.config_path, env=not no_env)
    for problem in found:
        click.echo(problem, err=True)
    if found:
        raise click.exceptions.Exit(2)
    cfg = ctx.config()
    for warning in config_mod.warnings(cfg):
        click.echo(f"warning: {warning}", err=True)
    path, _ = config_mod.config_path(ctx.config_path)
    where = str(path) if path.exists() else "defaults (no config file)"
    click.echo(f"config OK: {where}, {len(cfg.feeds)} feeds")


@cli.group("feeds")
def feeds_group() -> None:
    """List, add, remove and test the feeds in the config file.

    \b
    Example:
      reportbot feeds list
    """


@feeds_group.command("list")
@pass_ctx
def feeds_list(ctx: Context) -> None:
    """List the configured feeds.

    \b
    Example:
      reportbot feeds list
    """
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    cfg = ctx.config()
    if not cfg.feeds:
        click.echo("no feeds configured: add one with `reportbot feeds add URL`")
        return
    table = Table(title=f"{len(cfg.feeds)} feeds")
    for name in ("id", "url", "interval", "tags", "private ok"):
        table.add_column(name, overflow="fold")
    for f in cfg.feeds:
        table.add_row(
            escape(f.id),
            escape(f.url),
            f"{f.interval / 60:g}m",
            escape(", ".join(f.tags)),
            "yes" if f.allow_private else "no",
        )
    Console().print(table)


@feeds_group.command("add")
@click.argument("url")
@click.option("--id", "feed_id", default=None, help="Feed id (default: made from the URL).")
@click.option("--title", default="", help="A title to show instead of the feed's own.")
@click.option("--interval", default="60m", show_default=True, help="Time between polls.")
@click.option("--tag", "tags", multiple=True, help="A tag (repeatable), for subscriptions.")
@click.option("--allow-private", is_flag=True, help="Allow a private or loopback address.")
@click.option("--no-test", is_flag=True, help="Add without fetching the URL first.")
@click.option(
    "--pick", default=None, metavar="N|URL", help="Which feed, when a page announces several."
)
@pass_ctx
def feeds_add(
    ctx: Context,
    url: str,
    feed_id: str | None,
    title: str,
    interval: str,
    tags: tuple[str, ...],
    allow_private: bool,
    no_test: bool,
    pick: str | None,
) -> None:
    """Add a feed to the config file (comments in the file are kept).

    The URL is fetched once first, as a poll would: an HTML page's announced feed
    (<link rel="alternate">) is followed, and a private or loopback address is refused
    unless --allow-private is given.

    \b
    Example:
      reportbot feeds add --id cspr \\
        https://www.communitycare.co.uk/tag/child-safeguarding-practice-review-panel/feed/
      reportbot feeds add https://www.communitycare.co.uk/   # finds the page's feed
    """
    import asyncio

    from bot.cli import configfile
    from bot.pipeline.discover import find_feed as discover_feed

    path, _ = config_mod.config_path(ctx.config_path)
    doc = configfile.read_toml(path)
    existing = configfile.tables(doc, "feeds")
    url = url.strip()
    about = ""
    if no_test:
        _refuse_private_literal(url, allow_private)
    else:
        found = asyncio.run(
            discover_feed(ctx.config().worker, url, allow_private=allow_private, pick=pick)
        )
        if found.parsed is None:
            for n, choice in enumerate(found.choices, 1):
                click.echo(f"{n}. {choice.url}  {choice.title}".rstrip())
            raise click.UsageError(
                f"{url} announces {len(found.choices)} feeds: choose one with --pick N"
            )
        url = found.url
        about = f" ({found.parsed.feed.title or 'untitled'}: {len(found.parsed.items)} items)"
    if any(_same_url(str(f.get("url", "")), url) for f in existing):
        raise ConfigError(f"{path}: {url} is already configured; `reportbot feeds list`")
    feed_id = feed_id or _free_id(_id_from(url), {str(f.get("id")) for f in existing})
    entry: dict[str, object] = {"id": feed_id, "url": url}
    if title:
        entry["title"] = title
    entry["interval"] = interval
    if tags:
        entry["tags"] = list(tags)
    if allow_private:
        entry["allow_private"] = True
    configfile.append_table(doc, "feeds", entry)
    configfile.write_checked(path, doc)
    click.echo(f"added feed {feed_id}{about} to {path}")


@feeds_group.command("remove")
@click.argument("feed_id", metavar="ID")
@pass_ctx
def feeds_remove(ctx: Context, feed_id: str) -> None:
    """Remove a feed from the config file (its archived items stay; comments stay).

    \b
    Example:
      reportbot feeds remove cspr
    """
    from bot.cli import configfile

    path, _ = config_mod.config_path(ctx.config_path)
    doc = configfile.read_toml(path)
    ids = [f.get("id") for f in configfile.tables(doc, "feeds")]
    if feed_id not in ids:
        raise ConfigError(f"{path}: no feed with id {feed_id!r}; `reportbot feeds list` shows them")
    configfile.remove_table(doc, "feeds", ids.index(feed_id))
    configfile.write_checked(path, doc)
    click.echo(f"removed feed {feed_id} from {path}")


@feeds_group.command("import")
@click.argument("opml_file", metavar="FILE.opml", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--allow-private", is_flag=True, help="Allow private or loopback addresses.")
@pass_ctx
def feeds_import(ctx: Context, opml_file: Path, allow_private: bool) -> None:
    """Add the feeds of an OPML file (from rss2email, Miniflux, any reader) to the config.

    Folders and categories become tags; feeds already configured are skipped and counted.
    As with `feeds add`, a feed at a private or loopback address is refused (one line
    each; the others are imported, and the command fails) unless --allow-private is given.
    Nothing is fetched: `reportbot poll --all` tries them.

    \b
    Example:
      reportbot feeds import subscriptions.opml
      reportbot feeds import --allow-private intranet.opml
    """
    from bot import opml
    from bot.cli import configfile

    try:
        data = opml_file.read_bytes()
    except OSError as exc:
        raise ConfigError(f"{opml_file}: cannot read: {exc.strerror}") from exc
    listed = opml.read(data, str(opml_file))
    path, _ = config_mod.config_path(ctx.config_path)
    doc = configfile.read_toml(path)
    existing = configfile.tables(doc, "feeds")
    urls = [str(f.get("url", "")) for f in existing]
    ids = {str(f.get("id")) for f in existing}
    added = skipped = 0
    refused: list[str] = []
    for feed in listed:
        if any(_same_url(u, feed.url) for u in urls):
            skipped += 1
            continue
        reason = None if allow_private else _private_literal(feed.url)
        if reason:
            refused.append(feed.url)
            click.echo(f"{reason} ({feed.url}): not imported", err=True)
            continue
        feed_id = _free_id(_id_from(feed.url), ids)
        entry: dict[str, object] = {"id": feed_id, "url": feed.url}
        if feed.title:
            entry["title"] = feed.title
        if feed.tags:
            entry["tags"] = list(feed.tags)
        if allow_private and _private_literal(feed.url):
            entry["allow_private"] = True  # the poller's guard would refuse it otherwise
        configfile.append_table(doc, "feeds", entry)
        urls.append(feed.url)
        ids.add(feed_id)
        added += 1
    if added:
        configfile.write_checked(path, doc)
    click.echo(
        f"imported {added} feeds from {opml_file} into {path}; "
        f"skipped {skipped} already configured"
    )
    if refused:
        raise ConfigError(
            f"refused {len(refused)} feeds at private or loopback addresses; add "
            "--allow-private if they are on your network"
        )


@feeds_group.command("export")
@click.option(
    "--format", "fmt", type=click.Choice(["opml"]), default="opml", show_default=True,
    help="The list's format.",
)
@click.option(
    "--out", type=click.Path(dir_okay=False, path_type=Path), help="File (default: stdout)."
)
@pass_ctx
def feeds_export(ctx: Context, fmt: str, out: Path | None) -> None:
    """Write the configured feeds as an OPML list, tags as categories.

    \b
    Example:
      reportbot feeds export --format opml --out feeds.opml
    """
    from bot import opml

    cfg = ctx.config()
    links: dict[str, str] = {}
    if cfg.feeds:
        with ctx.archive() as archive:
            links = {f.key: f.link for f in archive.feeds()}
    feeds = [
        opml.OpmlFeed(f.url, f.title, links.get(f.id, ""), tuple(f.tags)) for f in cfg.feeds
    ]
    data = opml.write(feeds, title="reportbot feeds", now=datetime.now(UTC))
    if out is None:
        click.echo(data.decode("utf-8"), nl=False)
    else:
        out.write_bytes(data)
        click.echo(f"wrote {len(feeds)} feeds to {out}")


@feeds_group.command("test")
@click.argument("url")
@click.option("--allow-private", is_flag=True, help="Allow a private or loopback address.")
@pass_ctx
def feeds_test(ctx: Context, url: str, allow_private: bool) -> None:
    """Fetch a feed once and show its title and item count (nothing is stored).

    \b
    Example:
      reportbot feeds test https://www.communitycare.co.uk/tag/child-safeguarding-practice-review-panel/feed/
    """
    import asyncio

    worker = ctx.config().worker
    parsed = asyncio.run(pipeline.check_feed(worker, url, allow_private))
    click.echo(f"{parsed.feed.title or '(untitled)'}: {len(parsed.items)} items ({parsed.format})")


def _refuse_private_literal(url: str, allow_private: bool) -> None:
    """Without a test fetch, at least an address written into the URL is checked (a name
    is checked when it is resolved, at the first poll)."""
    refused = None if allow_private else _private_literal(url)
    if refused:
        raise ConfigError(f"{refused}; add --allow-private if this feed is on your network")


def _private_literal(url: str) -> str | None:
    """Why the address written in `url` (or localhost) is refused, as "refused HOST:
    reason"; None for a public address or a name (names are checked when resolved)."""
    from bot.fetch import forbidden_reason

    host = urlsplit(url).hostname or ""
    if not host:
        return None
    reason = forbidden_reason("127.0.0.1" if host == "localhost" else host)
    if reason and "not an IP address" not in reason:
        return f"refused {host}: {reason}"
    return None


def _same_url(a: str, b: str) -> bool:
    """Equal up to the host's case and a trailing slash."""
    pa, pb = urlsplit(a.strip()), urlsplit(b.strip())
    return (pa.scheme.lower(), (pa.hostname or ""), pa.port, pa.path.rstrip("/"), pa.query) == (
        pb.scheme.lower(), (pb.hostname or ""), pb.port, pb.path.rstrip("/"), pb.query
    )


def _free_id(base: str, taken: set[str]) -> str:
    if base not in taken:
        return base
    n = 2
    while f"{base[:60]}-{n}" in taken:
        n += 1
    return f"{base[:60]}-{n}"


def _id_from(url: str) -> str:
    parts = urlsplit(url)
    segments = [s for s in parts.path.split("/") if s and s not in ("feed", "rss", "atom")]
    base = segments[-1] if segments else (parts.hostname or "feed").removeprefix("www.")
    slug = re.sub(r"[^a-z0-9]+", "-", base.lower()).strip("-")[:64]
    return slug or "feed"
