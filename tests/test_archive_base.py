"""The archive's migration check without Alembic (bot/archive/base.py `head_of`): an archive at
the newest migration opens without importing Alembic (tests/test_cli_start.py: `status`); any
doubt leaves the choice to it (an archive behind: tests/test_archive.py)."""

from __future__ import annotations

from bot.archive import _alembic_config
from bot.archive.base import _head_revision, head_of


def _script(revision: str, down: str) -> str:
    header = f'"""A migration.\n\nRevision ID: {revision}\n"""\n\n'
    return f"{header}revision = {revision}\ndown_revision = {down}\n"


def test_head_read_from_the_scripts_is_alembics() -> None:
    from alembic.script import ScriptDirectory

    assert _head_revision() == ScriptDirectory.from_config(_alembic_config()).get_current_head()


def test_head_of_a_chain_in_any_order_and_quoting() -> None:
    scripts = [
        _script("'0003'", "'0002'"),  # as script.py.mako writes them (repr)
        _script('"0001"', "None"),
        "revision: str = \"0002\"\ndown_revision: str | None = \"0001\"\n",  # annotated
    ]
    assert head_of(scripts) == "0003"


def test_no_head_when_alembic_must_decide() -> None:
    branch = [_script('"0001"', "None"), _script('"0002"', '"0001"'), _script('"0003"', '"0001"')]
    merge = [*branch, _script('"0004"', '("0002", "0003")')]
    assert head_of(branch) is None
    assert head_of(merge) is None
    assert head_of(["# not a migration\n"]) is None

