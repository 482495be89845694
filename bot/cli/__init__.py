"""The `reportbot` command: thin adapters over bot.pipeline, bot.archive and bot.export.

One module per command group (root options and error handling here; archive, facts, db).
Every command's help ends with an example (tests/test_cli_help.py asserts it). A user's mistake
prints one line, "reportbot: error: ...", and exits 1; click's usage errors exit 2.

The command modules are imported only when one of their commands runs (bot/cli/root.py lists
them in COMMANDS), so that a command starts without importing what others need.
"""

from bot.cli.root import cli, main, run

__all__ = ["cli", "main", "run"]
