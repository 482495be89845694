"""Discord webhooks: embeds, posted with ?wait=true so a 200 means the message exists.

Without wait=true Discord answers 204 before the message is stored, and an error in the
payload would pass unnoticed. Errors come as JSON {"message", "code"}; 429 carries
{"retry_after": seconds}. https://discord.com/developers/docs/resources/webhook
"""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import httpx

from bot.deliver.http import Posted, post

NAME = "discord"
# Discord limits each webhook to a few messages a second and says so in its headers; a
# half-second pace keeps a split digest inside that without waiting for 429s.
MIN_INTERVAL = 0.5


async def send(client: httpx.AsyncClient, url: str, payload: str, key: str) -> Posted:
    """Post one message (`payload` is the embeds JSON made by render.py)."""
    return await post(client, NAME, waiting(url), payload.encode())


def waiting(url: str) -> str:
    """The URL with wait=true added, keeping any thread_id already there."""
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query) if k != "wait"] + [("wait", "true")]
    return urlunsplit(parts._replace(query=urlencode(query)))
