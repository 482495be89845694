"""`reportbot admin`: the web site's admin login."""

from __future__ import annotations

import sys

import click

from bot.cli.root import cli
from bot.errors import ConfigError


@cli.group("admin")
def admin_group() -> None:
    """Set up the web site's admin login.

    \b
    Example:
      reportbot admin hash-password
    """


@admin_group.command("hash-password")
def hash_password_cmd() -> None:
    """Print the argon2 hash of a password read from standard input (or asked for twice).

    Put the hash in the variable that [web] admin_password_hash_env names; the password
    itself is kept nowhere. Only the first line of standard input is read. A password needs
    at least 12 characters.

    \b
    Example:
      reportbot admin hash-password
      printf "%s" "$PASSWORD" | reportbot admin hash-password > admin.hash
    """
    from bot.webapp.auth import hash_password

    if sys.stdin.isatty():
        password = click.prompt(
            "Admin password", hide_input=True, confirmation_prompt=True, err=True
        )
    else:
        password = sys.stdin.readline().rstrip("\r\n")
    if len(password) < 12:
        raise ConfigError("the password must have at least 12 characters (nothing was printed)")
    click.echo(hash_password(password))
