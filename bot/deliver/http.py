"""One POST to a chat or webhook endpoint, and what its answer means for the outbox.

Shared by the chat targets, which differ only in URL, headers and how their errors read:

  2xx                      accepted
  429                      try again after Retry-After (or the platform's own retry_after)
  408, 5xx                 try again later
  other 3xx/4xx            dead at once, with the platform's message (a retry cannot help)
  no connection            try again later (nothing was sent)
  request sent, no answer  unknown: it may have arrived; sent again later, once, same key

Redirects are not followed: a webhook that moved is a configuration problem to report.
URLs never appear in errors: a webhook URL carries its token.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass

import httpx

MAX_ERROR_CHARS = 300


async def post(
    client: httpx.AsyncClient,
    name: str,
    url: str,
    body: bytes,
    headers: Mapping[str, str] | None = None,
) -> Posted:
    """POST `body` as JSON; never raises for network or HTTP trouble."""
    sent_headers = {"Content-Type": "application/json", **(headers or {})}
    try:
        response = await client.post(url, content=body, headers=sent_headers)
    except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
        return Posted(ok=False, error=f"{name}: cannot connect: {type(exc).__name__}")
    except httpx.TransportError as exc:
        # the request (or part of it) left: the receiver may have acted on it
        return Posted(
            ok=False, unknown=True, error=f"{name}: no answer after sending: {type(exc).__name__}"
        )
    status = response.status_code
    if 200 <= status < 300:
        return Posted(ok=True, body=response.text[:MAX_ERROR_CHARS])
    message = f"{name}: HTTP {status}: {platform_message(response)}"
    if status == 429:
        return Posted(ok=False, error=message, retry_after=retry_after(response))
    if status == 408 or status >= 500:
        return Posted(ok=False, error=message, retry_after=retry_after(response))
    return Posted(ok=False, error=message, retry=False)


def platform_message(response: httpx.Response) -> str:
    """The platform's own words: Slack answers plain text ("invalid_payload"), Discord
    {"message": ...}, Teams/Power Automate {"error": {"message": ...}}."""
    text = response.text.strip()
    try:
        data = json.loads(text)
    except ValueError:
        return " ".join(text.split())[:MAX_ERROR_CHARS] or response.reason_phrase
    if isinstance(data, dict):
        inner = data.get("error")
        if isinstance(inner, dict) and inner.get("message"):
            return str(inner["message"])[:MAX_ERROR_CHARS]
        if data.get("message"):
            return str(data["message"])[:MAX_ERROR_CHARS]
    return " ".join(text.split())[:MAX_ERROR_CHARS]


def retry_after(response: httpx.Response) -> float | None:
    """Seconds to wait: the Retry-After header, else a JSON `retry_after` (Discord)."""
    header = response.headers.get("retry-after", "").strip()
    try:
        if header:
            return max(0.0, float(header))
    except ValueError:
        pass  # an HTTP-date: rare on webhooks; fall back to our own backoff
    try:
        value = json.loads(response.text).get("retry_after")
        return max(0.0, float(value)) if value is not None else None
    except (ValueError, AttributeError, TypeError):
        return None


@dataclass(frozen=True)
class Posted:
    """The outcome of one POST."""

    ok: bool
    error: str | None = None
    retry: bool = True  # False: dead, a retry cannot help
    unknown: bool = False  # the request left and no answer came
    retry_after: float | None = None
    body: str = ""
