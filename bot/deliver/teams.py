"""Microsoft Teams through a Workflows (Power Automate) webhook carrying an Adaptive Card.

The old Office 365 connectors are retired; a Workflows trigger "When a Teams webhook request
is received" accepts {"type": "message", "attachments": [adaptive card]} and answers 202.
A message is at most 28 KB, so a long digest is cut (with a link to the rest), not split.
Errors come as JSON {"error": {"code", "message"}}.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from bot import render
from bot.deliver.channel import Channel
from bot.deliver.http import Request
from bot.models import Digest, Rendered
from bot.render import Alert

MAX_BYTES = 28 * 1024


class Teams:
    name = "teams"
    preview = "teams"
    min_interval = 0.0

    def check(self, *, template_dir: str = "") -> None:
        render.check_templates(["teams_item.j2"], template_dir=template_dir)

    def render(self, digest: Digest, *, template_dir: str = "") -> Rendered:
        digest = render.outgoing_digest(digest)
        template = render.template("teams_item.j2", template_dir=template_dir)
        subject = render.subject(digest)
        items = list(digest.items)
        while True:
            body: list[dict[str, Any]] = [_text(subject, weight="Bolder", size="Medium")]
            for item in items:
                name = render.markdown_text(item.title)  # feed text: never markdown of its own
                title = f"[{name}]({item.link})" if item.link else name
                body.append(_text(title, weight="Bolder", spacing="Large"))
                body.append(_text(template.render(item=item).strip()))
            omitted = len(digest.items) - len(items)
            if omitted:
                more = f"…and {omitted} more" + (
                    f": [read them all]({digest.more_link})" if digest.more_link else ""
                )
                body.append(_text(more))
            payload = _message(body)
            if len(payload.encode()) <= MAX_BYTES or not items:
                return Rendered(format=self.preview, subject=subject, payloads=(payload,))
            items = items[: max(0, len(items) * 3 // 4)]  # cut by a quarter until it fits

    def render_alerts(self, alerts: Sequence[Alert]) -> str:
        title, lines = render.alert_lines(alerts)
        return _message([_text(title, weight="Bolder"), *(_text(line) for line in lines)])

    def request(self, *, url: str, payload: str, key: str, secret: bytes) -> Request:
        return Request(url, payload.encode())


def _text(text: str, **style: str) -> dict[str, Any]:
    return {"type": "TextBlock", "text": text, **style, "wrap": True}


def _message(body: list[dict[str, Any]]) -> str:
    """A Workflows webhook message: one Adaptive Card (schema 1.4) with these elements."""
    card = {
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard",
        "version": "1.4",
        "body": body,
    }
    attachment = {"contentType": "application/vnd.microsoft.card.adaptive", "content": card}
    return json.dumps({"type": "message", "attachments": [attachment]}, ensure_ascii=False)


CHANNEL: Channel = Teams()
