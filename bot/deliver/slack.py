"""Slack incoming webhooks: Block Kit messages, at most one a second per webhook.

Limits (https://api.slack.com/reference/block-kit/blocks): 50 blocks a message, 3,000
characters a section, 150 a header; mrkdwn needs &, < and > escaped. Slack answers 200 "ok",
a 4xx with a plain-text code such as invalid_payload or channel_not_found (dead at once), or
429 with Retry-After. https://api.slack.com/messaging/webhooks
"""

from __future__ import annotations

import functools
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import jinja2

from bot import render
from bot.deliver.channel import Channel
from bot.deliver.http import Request
from bot.digest import shorten
from bot.models import Digest, Rendered
from bot.render import Alert

MAX_BLOCKS = 50
MAX_SECTION = 3000
MAX_HEADER = 150


def escape(value: object) -> str:
    """Slack mrkdwn control characters (its documented escaping: &, <, >)."""
    return str(value).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


@functools.lru_cache(maxsize=8)
def _environment(template_dir: str) -> jinja2.Environment:
    """The shared environment plus the `slack` filter (an overlay: its own template cache)."""
    env = render.environment(Path(template_dir) if template_dir else None).overlay()
    env.filters["slack"] = escape
    return env


class Slack:
    name = "slack"
    preview = "slack"
    # Slack's documented limit for incoming webhooks: about one message a second.
    min_interval = 1.0

    def check(self, *, template_dir: str = "") -> None:
        render.check_templates(["slack_item.j2"], env=_environment(template_dir))

    def render(self, digest: Digest, *, template_dir: str = "") -> Rendered:
        digest = render.outgoing_digest(digest)
        template = _environment(template_dir).get_template("slack_item.j2")
        subject = render.subject(digest)
        title = {"type": "plain_text", "text": shorten(subject, MAX_HEADER)}
        header = {"type": "header", "text": title}
        messages: list[list[dict[str, Any]]] = [[header]]
        for item in digest.items:
            text = render.shorten_keep_lines(template.render(item=item), MAX_SECTION)
            blocks: list[dict[str, Any]] = [
                {"type": "section", "text": {"type": "mrkdwn", "text": text}},
                {"type": "divider"},
            ]
            if len(messages[-1]) + len(blocks) > MAX_BLOCKS:
                messages.append([])
            messages[-1].extend(blocks)
        payloads = tuple(
            json.dumps({"text": subject, "blocks": blocks}, ensure_ascii=False)
            for blocks in messages
        )
        return Rendered(format=self.preview, subject=subject, payloads=payloads)

    def render_alerts(self, alerts: Sequence[Alert]) -> str:
        title, lines = render.alert_lines(alerts)
        text = render.shorten_keep_lines("\n".join(escape(line) for line in lines), MAX_SECTION)
        blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": text}}]
        return json.dumps({"text": title, "blocks": blocks}, ensure_ascii=False)

    def request(self, *, url: str, payload: str, key: str, secret: bytes) -> Request:
        return Request(url, payload.encode())


CHANNEL: Channel = Slack()
