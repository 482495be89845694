"""A click group that imports a subcommand's module only when that subcommand runs.

click's documented pattern ("Lazily Loading Subcommands"), with one addition: the group's
help lists each command's one-line help from the table instead of importing the command
for it, so `reportbot --help` loads no command module at all.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import click


@dataclass(frozen=True)
class Lazy:
    """Where a command lives ("package.module:attribute") and its one-line help."""

    target: str
    help: str


class LazyGroup(click.Group):
    def __init__(self, *args: Any, lazy_commands: Mapping[str, Lazy], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lazy_commands = dict(lazy_commands)

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self.lazy_commands})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self.lazy_commands and cmd_name not in self.commands:
            self.add_command(self._load(cmd_name), cmd_name)
        return super().get_command(ctx, cmd_name)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """click's own listing, with the table's help standing in for commands not loaded."""
        names = [
            name
            for name in self.list_commands(ctx)
            if name in self.lazy_commands or not self.commands[name].hidden
        ]
        if not names:
            return
        limit = formatter.width - 6 - max(len(name) for name in names)
        rows = []
        for name in names:
            # a bare Command with the table's help shortens it as the real one would
            shown = self.commands.get(name)
            if shown is None:
                shown = click.Command(name, help=self.lazy_commands[name].help)
            rows.append((name, shown.get_short_help_str(limit)))
        with formatter.section("Commands"):
            formatter.write_dl(rows)

    def _load(self, cmd_name: str) -> click.Command:
        module_name, attribute = self.lazy_commands[cmd_name].target.split(":")
        command = getattr(importlib.import_module(module_name), attribute)
        if not isinstance(command, click.Command):
            raise TypeError(f"{module_name}:{attribute} is not a click command")
        return command
