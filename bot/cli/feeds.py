"""Config commands: config check, feeds list / add / remove / test.

`feeds add` and `feeds remove` edit the config file with tomlkit, which keeps the admin's
comments and layout; the edited file is validated before it replaces the old one.
"""

from __future__ import annotations

import asyncio
import re
from urllib.parse import urlsplit

import click
import tomlkit
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from bot import config as config_mod
from bot import pipeline
from bot.cli.configfile import read_toml, write_checked
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
@pass_ctx
def feeds_add(
    ctx: Context,
    url: str,
    feed_id: str | None,
    title: str,
    interval: str,
    tags: tuple[str, ...],
    allow_private: bool,
) -> None:
    """Add a feed to the config file (comments in the file are kept).

    \b
    Example:
      reportbot feeds add --id cspr \
        https://www.communitycare.co.uk/tag/child-safeguarding-practice-review-panel/feed/
    """
    path, _ = config_mod.config_path(ctx.config_path)
    doc = read_toml(path)
    feed_id = feed_id or _id_from(url)
    entry = tomlkit.table()
    entry["id"] = feed_id
    entry["url"] = url
    if title:
        entry["title"] = title
    entry["interval"] = interval
    if tags:
        entry["tags"] = list(tags)
    if allow_private:
        entry["allow_private"] = True
    feeds = doc.get("feeds")
    if feeds is None:
        feeds = tomlkit.aot()
        doc["feeds"] = feeds
    feeds.append(entry)
    write_checked(path, doc)
    click.echo(f"added feed {feed_id} to {path}")


@feeds_group.command("remove")
@click.argument("feed_id", metavar="ID")
@pass_ctx
def feeds_remove(ctx: Context, feed_id: str) -> None:
    """Remove a feed from the config file (its archived items stay).

    \b
    Example:
      reportbot feeds remove cspr
    """
    path, _ = config_mod.config_path(ctx.config_path)
    doc = read_toml(path)
    feeds = doc.get("feeds") or []
    keep = [f for f in feeds if f.get("id") != feed_id]
    if len(keep) == len(feeds):
        raise ConfigError(f"{path}: no feed with id {feed_id!r}; `reportbot feeds list` shows them")
    while len(feeds):
        feeds.pop()
    for f in keep:
        feeds.append(f)
    write_checked(path, doc)
    click.echo(f"removed feed {feed_id} from {path}")


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
    worker = ctx.config().worker
    parsed = asyncio.run(pipeline.check_feed(worker, url, allow_private))
    click.echo(f"{parsed.feed.title or '(untitled)'}: {len(parsed.items)} items ({parsed.format})")


def _id_from(url: str) -> str:
    parts = urlsplit(url)
    segments = [s for s in parts.path.split("/") if s and s not in ("feed", "rss", "atom")]
    base = segments[-1] if segments else (parts.hostname or "feed").removeprefix("www.")
    slug = re.sub(r"[^a-z0-9]+", "-", base.lower()).strip("-")[:64]
    return slug or "feed"
