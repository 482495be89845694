"""Is this deployment healthy? The database answers, its schema is current, and a worker
completed a tick recently. Used by `reportbot health` (and Docker's HEALTHCHECK)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import make_url
from sqlalchemy.exc import ArgumentError

from bot.archive import Archive, redact
from bot.errors import ArchiveError


def problems(url: str, max_age: timedelta, now: datetime | None = None) -> list[str]:
    """What is wrong, one line each; [] when healthy. Never migrates anything."""
    now = now or datetime.now(UTC)
    file = _sqlite_file(url)
    if file is not None and not file.exists():  # checking must not create an empty archive
        return [f"no archive at {file}: check the database URL"]
    archive = Archive(url)
    try:
        try:
            archive.ping()
        except ArchiveError as exc:
            return [str(exc)]
        if not archive.is_current():
            return [
                f"the archive at {redact(url)} is not at the newest schema: "
                "run `reportbot db upgrade` (workers do it when they start)"
            ]
        last = archive.last_tick()
        if last is None:
            return ["no worker has completed a tick yet: is `reportbot run` running?"]
        age = now - last
        if age > max_age:
            minutes = age.total_seconds() / 60
            return [
                f"the last worker tick was {minutes:.0f} min ago (limit "
                f"{max_age.total_seconds() / 60:g} min): check the worker's logs"
            ]
        return []
    finally:
        archive.close()


def _sqlite_file(url: str) -> Path | None:
    try:
        parsed = make_url(url)
    except ArgumentError:
        return None  # Archive() reports a malformed URL in its own words
    if not parsed.drivername.startswith("sqlite") or parsed.database in (None, "", ":memory:"):
        return None
    return Path(parsed.database)
