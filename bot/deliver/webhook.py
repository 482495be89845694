"""The generic JSON webhook, signed so the receiver can trust it (schema: docs/WEBHOOK.md).

Headers:
  X-Reportbot-Timestamp   Unix seconds when it was signed; receivers should refuse old ones
  X-Reportbot-Signature   "sha256=" + hex HMAC-SHA256(secret, timestamp + "." + raw body)
  X-Reportbot-Delivery    the idempotency key: the same on a resend, so duplicates can be
                          dropped by the receiver
"""

from __future__ import annotations

import hashlib
import hmac
import time

import httpx

from bot.deliver.http import Posted, post

NAME = "webhook"
MIN_INTERVAL = 0.0


async def send(
    client: httpx.AsyncClient, url: str, payload: str, key: str, secret: bytes = b""
) -> Posted:
    """Post one signed message."""
    body = payload.encode()
    timestamp = str(int(time.time()))
    headers = {
        "X-Reportbot-Timestamp": timestamp,
        "X-Reportbot-Signature": signature(secret, timestamp, body),
        "X-Reportbot-Delivery": key,
    }
    return await post(client, NAME, url, body, headers)


def signature(secret: bytes, timestamp: str, body: bytes) -> str:
    digest = hmac.new(secret, timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"
