"""`feeds add URL`: fetch the URL once as a poll would (address guard, caps), follow an HTML
page's autodiscovery link, and parse the feed in the sandbox. Nothing is stored."""

from __future__ import annotations

from dataclasses import dataclass

from bot import discover
from bot.config import WorkerConfig
from bot.errors import InputError
from bot.models import ParsedFeed
from bot.pipeline.poll import fetch_once, fetcher_for, parse_fetched, sandbox_for
from bot.sandbox import SandboxError


@dataclass(frozen=True)
class Found:
    """The feed a URL leads to (`parsed`), or the page's choices when it offers several
    and none was picked."""

    url: str
    parsed: ParsedFeed | None
    choices: tuple[discover.Candidate, ...] = ()


async def find_feed(
    worker: WorkerConfig, url: str, *, allow_private: bool, pick: str | None = None
) -> Found:
    """The feed at `url`, or the one its HTML page announces. With several announced, `pick`
    chooses (a 1-based number or one of the URLs); without it the choices come back."""
    async with (
        fetcher_for(worker, per_host=1) as fetcher,
        sandbox_for(worker, workers=1) as box,
    ):
        fetched = await fetch_once(fetcher, url, allow_private=allow_private)
        if discover.looks_like_html(fetched.body or b"", fetched.content_type):
            try:
                choices: list[discover.Candidate] = await box.run(
                    discover.candidates, fetched.body, fetched.url
                )
            except SandboxError as exc:
                raise InputError(fetched.url, str(exc)) from exc
            if not choices:
                raise InputError(
                    url,
                    "is an HTML page that announces no feed "
                    '(no <link rel="alternate" type="application/rss+xml">): '
                    "give the feed's own URL",
                )
            if len(choices) > 1 and pick is None:
                return Found(url, None, tuple(choices))
            url = _choose(url, choices, pick).url
            fetched = await fetch_once(fetcher, url, allow_private=allow_private)
        parsed = await parse_fetched(box, fetched)
    return Found(url, parsed)


def _choose(url: str, choices: list[discover.Candidate], pick: str | None) -> discover.Candidate:
    if pick is None:
        return choices[0]
    if pick.isdigit() and 1 <= int(pick) <= len(choices):
        return choices[int(pick) - 1]
    for choice in choices:
        if choice.url == pick:
            return choice
    raise InputError(
        url, f"--pick {pick}: give a number from 1 to {len(choices)} or one of the URLs"
    )
