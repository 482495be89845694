"""Slack incoming webhooks: a Block Kit message per part, at most one a second per webhook.

Slack answers 200 "ok", or a 4xx with a plain-text code such as invalid_payload,
channel_not_found or channel_is_archived (dead at once), or 429 with Retry-After.
https://api.slack.com/messaging/webhooks
"""

from __future__ import annotations

import httpx

from bot.deliver.http import Posted, post

NAME = "slack"
# Slack's documented limit for incoming webhooks: about one message a second per webhook.
MIN_INTERVAL = 1.0


async def send(client: httpx.AsyncClient, url: str, payload: str, key: str) -> Posted:
    """Post one message (`payload` is Block Kit JSON made by render.py)."""
    return await post(client, NAME, url, payload.encode())
