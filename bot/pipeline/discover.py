"""`feeds add URL`: fetch the URL once as a poll would (address guard, caps), follow an HTML
page's autodiscovery link, and parse the feed in the sandbox. Nothing is stored."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bot import discover
from bot.config import WorkerConfig
from bot.errors import InputError
from bot.fetch import Fetcher
from bot.models import FeedState, FetchResult, ParsedFeed
from bot.parse import parse_feed
from bot.pipeline.poll import fetcher_for
from bot.sandbox import Sandbox, SandboxError


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
        Sandbox(workers=1, timeout=worker.parse_timeout, memory_mb=worker.parse_memory_mb) as box,
    ):
        fetched = await _get(fetcher, url, allow_private)
        if discover.looks_like_html(fetched.body or b"", fetched.content_type):
            choices: list[discover.Candidate] = await _run(
                box, discover.candidates, fetched.body, fetched.url
            )
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
            fetched = await _get(fetcher, url, allow_private)
        parsed: ParsedFeed = await _run(box, parse_feed, fetched.body, fetched.url)
    return Found(url, parsed)


async def _get(fetcher: Fetcher, url: str, allow_private: bool) -> FetchResult:
    fetched = await fetcher.fetch(FeedState.first_poll(url, allow_private))
    if fetched.error is not None or fetched.body is None:
        raise InputError(url, fetched.error or "no body")
    return fetched


async def _run(box: Sandbox, fn: Callable[..., Any], *args: Any) -> Any:
    try:
        return await box.run(fn, *args)
    except SandboxError as exc:
        raise InputError(str(args[-1]), str(exc)) from exc


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
