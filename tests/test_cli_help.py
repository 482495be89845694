"""Every command has help with an example (compare sqlite-utils' tests/test_docs.py)."""

from __future__ import annotations

import click
import pytest

from bot.cli import cli


def _commands(group: click.Group, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    found: list[tuple[str, ...]] = [prefix]
    for name, command in group.commands.items():
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
