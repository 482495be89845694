"""Every command has help with an example (compare sqlite-utils' tests/test_docs.py)."""

from __future__ import annotations

import click
import pytest

from bot.cli import cli
from bot.cli.root import COMMANDS


def _commands(group: click.Group, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """Every command path, the lazily loaded ones too (listing them loads their modules)."""
    found: list[tuple[str, ...]] = [prefix]
    ctx = click.Context(group, info_name="reportbot")
    for name in group.list_commands(ctx):
        command = group.get_command(ctx, name)
        assert command is not None, f"{' '.join((*prefix, name))} is listed but cannot load"
        if isinstance(command, click.Group):
            found += _commands(command, (*prefix, name))
        else:
            found.append((*prefix, name))
    return found


@pytest.mark.parametrize("path", _commands(cli), ids=lambda p: " ".join(p) or "reportbot")
def test_help_has_an_example(path: tuple[str, ...], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        cli.main(args=[*path, "--help"], prog_name="reportbot")
    out = capsys.readouterr().out
    assert exit_info.value.code == 0
    assert "Example:" in out
    example = out.split("Example:", 1)[1]
    assert f"reportbot {' '.join(path)}".strip() in example


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_listed_help_is_the_commands_own(name: str) -> None:
    """`reportbot --help` shows COMMANDS' line without importing the command: it must be
    the first sentence of the command's docstring (edit both together)."""
    command = cli.get_command(click.Context(cli), name)
    assert command is not None
    assert command.get_short_help_str(limit=1000) == COMMANDS[name].help


def test_every_command_is_in_the_table() -> None:
    """A command registered with @cli.command but missing from COMMANDS would be invisible
    until its module happened to be imported."""
    _commands(cli)  # loads every module, registering what they define
    assert set(cli.commands) == set(COMMANDS)
