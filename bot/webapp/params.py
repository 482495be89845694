"""A page's query string read into filters: pure, so every rule is tested without a server.

Dates are days (YYYY-MM-DD, UTC): `since` from the start of its day, `until` to the end of
its day (the archive takes [since, until), so until is the next day's start).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from urllib.parse import urlencode

MAX_QUERY = 1000  # characters of a search kept (bot.searchquery reads no more)


class BadParam(ValueError):
    """A query string value that is not valid: its message is one line for the reader."""


@dataclass(frozen=True)
class Filters:
    """What a listing or a search is narrowed to; the empty value means not at all."""

    q: str = ""
    feed: str = ""
    since: date | None = None
    until: date | None = None
    speaker: str = ""
    has_figures: bool = False
    cursor: str = ""

    @property
    def since_at(self) -> datetime | None:
        return _start(self.since) if self.since else None

    @property
    def until_at(self) -> datetime | None:
        return _start(self.until) + timedelta(days=1) if self.until else None

    def query(self, **change: str) -> str:
        """This page's query string with `change` applied (cursor dropped unless given):
        links to the next page and to the same filters elsewhere."""
        values = {
            "q": self.q,
            "feed": self.feed,
            "since": self.since.isoformat() if self.since else "",
            "until": self.until.isoformat() if self.until else "",
            "speaker": self.speaker,
            "figures": "1" if self.has_figures else "",
            "cursor": "",
        }
        values.update(change)
        return urlencode({k: v for k, v in values.items() if v})

    @property
    def narrowed(self) -> bool:
        """Whether any filter besides the words is set."""
        return bool(self.feed or self.since or self.until or self.speaker or self.has_figures)


def filters(params: Mapping[str, str]) -> Filters:
    """The filters a query string asks for; BadParam for a value that cannot be one."""
    since, until = _day(params, "since"), _day(params, "until")
    if since and until and since > until:
        raise BadParam(f"“from” ({since}) is after “to” ({until}): swap them")
    return Filters(
        q=params.get("q", "").strip()[:MAX_QUERY],
        feed=params.get("feed", "").strip(),
        since=since,
        until=until,
        speaker=" ".join(params.get("speaker", "").split()),
        has_figures=params.get("figures", "") in ("1", "on", "true", "yes"),
        cursor=params.get("cursor", "").strip(),
    )


def _day(params: Mapping[str, str], name: str) -> date | None:
    raw = params.get(name, "").strip()
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise BadParam(f"{name}: {raw[:40]!r} is not a date like 2025-03-31") from None


def _start(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)
