"""Subscriber commands: list, add, remove.

Addresses live in the config file (`email = [...]`); an unsubscribe is recorded in the
archive instead, like the one-click link does, so it works with a read-only config and
takes effect before the next send, even for messages already queued.
"""

from __future__ import annotations

import click
import tomlkit
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from bot import addresses
from bot import config as config_mod
from bot.cli.configfile import read_toml, write_checked
from bot.cli.root import Context, cli, pass_ctx
from bot.config import SubscriptionConfig
from bot.errors import ConfigError


@cli.group("subscribers")
def subscribers_group() -> None:
    """List, add and remove the e-mail subscribers of a subscription.

    \b
    Example:
      reportbot subscribers list weekly
    """


@subscribers_group.command("list")
@click.argument("subscription", required=False)
@pass_ctx
def subscribers_list(ctx: Context, subscription: str | None) -> None:
    """Every subscription's destinations (web sign-ups too), and who unsubscribed.

    \b
    Example:
      reportbot subscribers list
      reportbot subscribers list weekly
    """
    cfg = ctx.config()
    subs = [cfg.subscription(subscription)] if subscription else list(cfg.subscriptions)
    if not subs:
        click.echo("no subscriptions configured (see docs/CONFIG.md, [[subscriptions]])")
        return
    with ctx.archive() as archive:
        gone = archive.unsubscribed()
        signed = archive.signups()
    table = Table(title="Subscribers")
    for name in ("subscription", "mode", "destination", "status"):
        table.add_column(name, overflow="fold")
    for sub in subs:
        mode = sub.mode if sub.mode == "each" else f"digest ({sub.schedule}, {sub.timezone})"
        if sub.channel is not None:
            table.add_row(escape(sub.id), mode, f"{sub.channel.kind} channel", "active")
        for address in sub.email:
            left = address.lower() in gone.get(sub.id, set())
            table.add_row(
                escape(sub.id), mode, escape(address), "unsubscribed" if left else "active"
            )
        listed = {addresses.key(a) for a in sub.email}
        for found in signed:
            if found.subscription != sub.id or addresses.key(found.address) in listed:
                continue
            left = found.address.lower() in gone.get(sub.id, set())
            table.add_row(
                escape(sub.id),
                mode,
                f"{escape(found.address)} (web sign-up)",
                "unsubscribed" if left else "active",
            )
    Console().print(table)


@subscribers_group.command("remove")
@click.argument("subscription")
@click.argument("address")
@pass_ctx
def subscribers_remove(ctx: Context, subscription: str, address: str) -> None:
    """Unsubscribe an address; it receives nothing more, not even messages already queued.

    The address is matched ignoring case (A@Example.org is a@example.org), among the
    config's addresses and the subscription's web sign-ups.

    \b
    Example:
      reportbot subscribers remove weekly a@example.org
    """
    sub = ctx.config().subscription(subscription)
    wanted = _parse(address)
    with ctx.archive() as archive:  # recorded as configured: that is what delivery compares
        configured = _configured(sub, wanted) or next(
            (s.address for s in archive.signups(sub.id) if addresses.key(s.address) == wanted.key),
            None,
        )
        if configured is None:
            raise ConfigError(
                f"{address} is not a subscriber of {subscription!r}; "
                "`reportbot subscribers list` shows them"
            )
        changed = archive.unsubscribe(subscription, configured, via="cli")
    click.echo(
        f"{configured} {'unsubscribed from' if changed else 'had already left'} {subscription}"
    )


@subscribers_group.command("add")
@click.argument("subscription")
@click.argument("address")
@pass_ctx
def subscribers_add(ctx: Context, subscription: str, address: str) -> None:
    """Add an address to an e-mail subscription (or take back its unsubscribe).

    The address is checked first; it is written with its domain in lower case. An address
    already there in another case is not added twice. The config file is edited with its
    comments kept; the address receives from the next period on.

    \b
    Example:
      reportbot subscribers add weekly c@example.org
    """
    sub = ctx.config().subscription(subscription)
    if sub.channel is not None:
        raise ConfigError(f"{subscription!r} posts to a {sub.channel.kind} channel, not e-mail")
    wanted = _parse(address)
    configured = _configured(sub, wanted)
    if configured is None:
        path, _ = config_mod.config_path(ctx.config_path)
        doc = read_toml(path)
        for entry in doc.get("subscriptions") or []:
            if entry.get("id") == subscription:
                emails = entry.get("email")
                if emails is None:
                    entry["email"] = tomlkit.array()
                    emails = entry["email"]
                emails.append(wanted.written)
        write_checked(path, doc)
    with ctx.archive() as archive:
        came_back = archive.resubscribe(subscription, configured or wanted.written)
    if configured is None:
        click.echo(f"{wanted.written} subscribed to {subscription}")
    elif came_back:
        click.echo(f"{configured} subscribed to {subscription} again (its unsubscribe is undone)")
    else:
        click.echo(f"{configured} is already subscribed to {subscription}")


def _parse(address: str) -> addresses.Address:
    try:
        return addresses.parse(address)
    except ValueError as exc:
        raise ConfigError(f"{exc} (nothing was changed)") from exc


def _configured(sub: SubscriptionConfig, wanted: addresses.Address) -> str | None:
    """The address as the config spells it, if it is there in any case."""
    return next((a for a in sub.email if addresses.key(a) == wanted.key), None)
