"""Discord webhooks: embeds, posted with ?wait=true so a 200 means the message exists.

Limits (https://discord.com/developers/docs/resources/message#embed-object-embed-limits):
10 embeds and 6,000 characters a message, title 256, description 4,096, content 2,000;
allowed_mentions is empty so feed text cannot ping anyone. Without wait=true Discord answers
204 before the message is stored, and an error in the payload would pass unnoticed. Errors
come as JSON {"message", "code"}; 429 carries {"retry_after": seconds}.
https://discord.com/developers/docs/resources/webhook
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from bot import render
from bot.deliver.channel import Channel
from bot.deliver.http import Request
from bot.digest import shorten
from bot.export import iso
from bot.models import Digest, Rendered
from bot.render import Alert

MAX_EMBEDS = 10
MAX_TOTAL = 6000
MAX_TITLE = 256
MAX_DESCRIPTION = 4096
MAX_CONTENT = 2000
MAX_FOOTER = 200
NO_MENTIONS: dict[str, list[str]] = {"parse": []}


class Discord:
    name = "discord"
    preview = "discord"
    # Discord limits each webhook to a few messages a second and says so in its headers; a
    # half-second pace keeps a split digest inside that without waiting for 429s.
    min_interval = 0.5

    def check(self, *, template_dir: str = "") -> None:
        render.check_templates(["discord_item.j2"], template_dir=template_dir)

    def render(self, digest: Digest, *, template_dir: str = "") -> Rendered:
        digest = render.outgoing_digest(digest)
        template = render.template("discord_item.j2", template_dir=template_dir)
        messages: list[list[dict[str, Any]]] = [[]]
        sizes = [0]
        for item in digest.items:
            embed: dict[str, Any] = {
                "title": shorten(render.markdown_text(item.title), MAX_TITLE),
                "description": render.shorten_keep_lines(
                    template.render(item=item), MAX_DESCRIPTION
                ),
                "footer": {"text": shorten(item.feed_title, MAX_FOOTER)},
            }
            if item.link:
                embed["url"] = item.link
            if item.published:
                embed["timestamp"] = iso(item.published)
            size = len(embed["title"]) + len(embed["description"]) + len(embed["footer"]["text"])
            if len(messages[-1]) >= MAX_EMBEDS or sizes[-1] + size > MAX_TOTAL:
                messages.append([])
                sizes.append(0)
            messages[-1].append(embed)
            sizes[-1] += size
        subject = render.subject(digest)
        content = shorten(subject, MAX_CONTENT)
        payloads = tuple(
            json.dumps(
                {
                    "content": content if n == 0 else "",
                    "embeds": embeds,
                    "allowed_mentions": NO_MENTIONS,
                },
                ensure_ascii=False,
            )
            for n, embeds in enumerate(messages)
        )
        return Rendered(format=self.preview, subject=subject, payloads=payloads)

    def render_alerts(self, alerts: Sequence[Alert]) -> str:
        title, lines = render.alert_lines(alerts)
        content = render.shorten_keep_lines("\n".join([title, *lines]), MAX_CONTENT)
        return json.dumps({"content": content, "allowed_mentions": NO_MENTIONS}, ensure_ascii=False)

    def request(self, *, url: str, payload: str, key: str, secret: bytes) -> Request:
        return Request(waiting(url), payload.encode())


def waiting(url: str) -> str:
    """The URL with wait=true added, keeping any thread_id already there."""
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query) if k != "wait"] + [("wait", "true")]
    return urlunsplit(parts._replace(query=urlencode(query)))


CHANNEL: Channel = Discord()
