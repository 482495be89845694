"""Edit the config file with tomlkit, which keeps the admin's comments and layout; an edited
file replaces the old one only if it is a valid config."""

from __future__ import annotations

from pathlib import Path

import tomlkit

from bot import config as config_mod
from bot.errors import ConfigError


def read_toml(path: Path) -> tomlkit.TOMLDocument:
    if not path.exists():
        return tomlkit.document()
    try:
        return tomlkit.parse(path.read_text(encoding="utf-8"))
    except Exception as exc:  # tomlkit raises several kinds; all mean "fix the file"
        raise ConfigError(f"{path}: not valid TOML: {exc}") from exc


def write_checked(path: Path, doc: tomlkit.TOMLDocument) -> None:
    """Write via a temporary file, and only if the result is a valid config."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".new")
    tmp.write_text(tomlkit.dumps(doc), encoding="utf-8")
    found = config_mod.problems(tmp)
    if found:
        tmp.unlink()
        raise ConfigError(found[0].replace(str(tmp), str(path)) + " (file left unchanged)")
    tmp.replace(path)
