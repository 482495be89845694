"""The `reportbot` command: thin adapters over bot.pipeline, bot.archive and bot.export.

One module per command group (root options and error handling here; archive, facts, db).
Every command's help ends with an example (tests/test_cli_help.py asserts it). A user's mistake
prints one line, "reportbot: error: ...", and exits 1; click's usage errors exit 2.

The command modules are imported only when one of their commands runs (bot/cli/root.py lists
them in COMMANDS), so that a command starts without importing what others need.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bot.cli.root import cli, run

__all__ = ["cli", "main", "run"]


def main() -> None:
    """Console entry point. The command line's modules are imported here rather than when
    this package is, so that a Ctrl-C while they load is one line and exit 130 as it is
    later, not a KeyboardInterrupt traceback from the console script."""
    import signal

    try:
        from bot.cli.root import run
    except KeyboardInterrupt:
        print("reportbot: interrupted", file=sys.stderr)
        sys.exit(130)
    code = run()
    # the command is over: a Ctrl-C while Python exits (joining threads) is not a traceback
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    sys.exit(code)


def __getattr__(name: str) -> Any:
    if name in ("cli", "run"):
        from bot.cli import root

        return getattr(root, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
