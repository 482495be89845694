"""Microsoft Teams through a Workflows (Power Automate) webhook carrying an Adaptive Card.

The old Office 365 connectors are retired; a Workflows trigger "When a Teams webhook request
is received" accepts {"type": "message", "attachments": [adaptive card]} and answers 202.
Errors come as JSON {"error": {"code", "message"}}.
"""

from __future__ import annotations

import httpx

from bot.deliver.http import Posted, post

NAME = "teams"
MIN_INTERVAL = 0.0


async def send(client: httpx.AsyncClient, url: str, payload: str, key: str) -> Posted:
    """Post one message (`payload` is the card JSON made by render.py)."""
    return await post(client, NAME, url, payload.encode())
