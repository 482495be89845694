"""What a chat platform is to the rest of reportbot: one `Channel` class per platform file
(slack.py, teams.py, discord.py, webhook.py), each owning its limits, its rendering (its item
template in templates/) and its request. Adding a platform is its file, with a module-level
`CHANNEL`, and a value in config.ChannelKind; nothing else names the platforms.
"""

from __future__ import annotations

import functools
import importlib
from collections.abc import Sequence
from typing import Protocol

from bot.config import ChannelKind
from bot.deliver.http import Request
from bot.models import Digest, Rendered
from bot.render import Alert


class Channel(Protocol):
    name: str  # the config kind, and the prefix of every error it reports
    preview: str  # its `digest preview --format` name
    min_interval: float  # seconds between two posts to one destination (its rate limit)

    def check(self, *, template_dir: str = "") -> None:
        """ConfigError unless its templates (a subscription's own first) compile."""
        ...

    def render(self, digest: Digest, *, template_dir: str = "") -> Rendered:
        """The digest as one or more payloads (JSON text), each within the limits."""
        ...

    def render_alerts(self, alerts: Sequence[Alert]) -> str:
        """Admin alerts as one payload."""
        ...

    def request(self, *, url: str, payload: str, key: str, secret: bytes) -> Request:
        """The POST for one payload; `key`: its idempotency key, `secret`: a signing key."""
        ...


@functools.cache
def channel(kind: str) -> Channel:
    """The platform of a config `kind` ("slack", …)."""
    kind = ChannelKind(kind).value  # ValueError for anything the config would refuse
    found: Channel = importlib.import_module(f"bot.deliver.{kind}").CHANNEL
    return found


def by_preview(name: str) -> Channel | None:
    """The platform whose `digest preview --format` name this is."""
    return next((c for c in map(channel, ChannelKind) if c.preview == name), None)


def preview_formats() -> tuple[str, ...]:
    """`digest preview --format` choices: the e-mail's, then each platform's."""
    from bot.render import EMAIL_FORMATS

    return (*EMAIL_FORMATS, *(channel(kind).preview for kind in ChannelKind))
