"""Configuration: TOML (tomllib) → pydantic models.

Every problem is reported at once with its key path; unknown keys are errors. The file is found
via --config, else $REPORTBOT_CONFIG, else config/reportbot.toml when it exists; with none, the
defaults apply. The database URL: --database, else $REPORTBOT_DATABASE_URL, else [archive] url.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path

from pydantic import BaseModel, ConfigDict, ValidationError

from bot.archive import DEFAULT_URL
from bot.errors import ConfigError

DEFAULT_PATH = Path("config/reportbot.toml")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ArchiveConfig(_Strict):
    url: str = DEFAULT_URL


class Config(_Strict):
    archive: ArchiveConfig = ArchiveConfig()


def load(path: Path | None = None) -> Config:
    """Read the configuration; a missing default file means defaults."""
    explicit = path or (
        Path(os.environ["REPORTBOT_CONFIG"]) if os.environ.get("REPORTBOT_CONFIG") else None
    )
    chosen = explicit or DEFAULT_PATH
    if not chosen.exists():
        if explicit is not None:
            raise ConfigError(f"{chosen}: config file not found")
        return Config()
    try:
        raw = tomllib.loads(chosen.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{chosen}: cannot read config file: {exc}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{chosen}: not valid TOML: {exc}") from exc
    try:
        return Config.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(
            f"{_path(err['loc'])}: {err['msg']}" for err in exc.errors(include_url=False)
        )
        raise ConfigError(f"{chosen}: {problems}") from exc


def database_url(config: Config, override: str | None = None) -> str:
    return override or os.environ.get("REPORTBOT_DATABASE_URL") or config.archive.url


def _path(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out
