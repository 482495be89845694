"""A command imports only what it uses: the fast commands in a fresh process leave the heavy
libraries unloaded (the start-up time itself is measured by bench/cli_start.py)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from bot.archive import Archive
from bot.cli import run
from bot.cli.root import COMMANDS
from tests.conftest import ROOT

# runs the command as the console script does, then prints what it loaded as the last line
_PROBE = (
    "import json, sys\n"
    "from bot.cli import run\n"
    "code = run(sys.argv[1:])\n"
    "print(json.dumps(sorted(sys.modules)))\n"
    "sys.exit(code)\n"
)
PIPELINE = {"sqlalchemy", "alembic", "pydantic", "feedparser", "lxml", "jinja2", "httpx"}


def modules(*argv: str) -> set[str]:
    """The modules a `reportbot ARGV` process had imported when it finished."""
    proc = subprocess.run(
        [sys.executable, "-c", _PROBE, *argv], capture_output=True, text=True, cwd=ROOT
    )
    assert proc.returncode == 0, proc.stderr
    return set(json.loads(proc.stdout.splitlines()[-1]))


def packages(*argv: str) -> set[str]:
    return {name.split(".")[0] for name in modules(*argv)}


def test_help_imports_no_pipeline_library() -> None:
    assert packages("--help") & PIPELINE == set()


def test_help_imports_no_command_module() -> None:
    command_modules = {lazy.target.split(":")[0] for lazy in COMMANDS.values()}
    assert modules("--help") & command_modules == set()


def test_config_check_imports_only_the_config_models(tmp_path: Path) -> None:
    config = tmp_path / "reportbot.toml"
    config.write_text('[[feeds]]\nid = "a"\nurl = "https://example.org/feed"\n')
    found = packages("--config", str(config), "config", "check")
    assert "pydantic" in found  # it validates the file: the check would be empty without
    assert found & PIPELINE == {"pydantic"}


def test_status_imports_the_archive_and_nothing_of_polling(tmp_path: Path) -> None:
    config = tmp_path / "reportbot.toml"
    config.write_text(f'[archive]\nurl = "sqlite:///{tmp_path / "a.db"}"\n')
    assert run(["--config", str(config), "db", "upgrade"]) == 0
    found = packages("--config", str(config), "status")
    assert "sqlalchemy" in found
    # the archive is at the newest migration: seen without Alembic
    assert found & {"alembic", "feedparser", "lxml", "jinja2", "httpx"} == set()


def test_status_on_a_new_archive_migrates_it(tmp_path: Path) -> None:
    config = tmp_path / "reportbot.toml"
    config.write_text(f'[archive]\nurl = "sqlite:///{tmp_path / "a.db"}"\n')
    assert "alembic" in packages("--config", str(config), "status")
    archive = Archive(f"sqlite:///{tmp_path / 'a.db'}")
    assert archive.is_current()
    archive.close()
