"""One POST to a chat or webhook endpoint, and the Outcome its answer means:

  2xx                      Sent
  429, 408, 5xx            Retry, after Retry-After (seconds or an HTTP-date; Discord also
                           puts retry_after in its JSON body)
  other 3xx/4xx            Dead, with the platform's message (a retry cannot help)
  no connection            Retry (nothing was sent)
  request sent, no answer  Unknown: it may have arrived; sent again later, same key
  anything else raised     Unknown: we cannot tell whether bytes left

Redirects are not followed: a webhook that moved is a configuration problem to report.
URLs never appear in errors: a webhook URL carries its token.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field

import httpx

from bot.models import Dead, Outcome, Retry, Sent, Unknown
from bot.retry import parse_retry_after

MAX_ERROR_CHARS = 300
# Raised before a byte of the request left: a retry is safe.
_NOT_SENT = (
    httpx.ConnectError,
    httpx.ConnectTimeout,
    httpx.PoolTimeout,
    httpx.UnsupportedProtocol,
    httpx.InvalidURL,
)


@dataclass(frozen=True)
class Request:
    """What a channel sends: its URL (with any query it needs), JSON body and headers."""

    url: str
    body: bytes
    headers: Mapping[str, str] = field(default_factory=dict)


async def post(client: httpx.AsyncClient, *, name: str, request: Request) -> Outcome:
    """POST the request as JSON; never raises: every failure is an Outcome whose error
    starts with the channel's `name`."""
    headers = {"Content-Type": "application/json", **request.headers}
    try:
        response = await client.post(request.url, content=request.body, headers=headers)
    except _NOT_SENT as exc:
        return Retry(f"{name}: cannot connect: {type(exc).__name__}")
    except httpx.TransportError as exc:
        # the request (or part of it) left: the receiver may have acted on it
        return Unknown(f"{name}: no answer after sending: {type(exc).__name__}")
    except Exception as exc:  # one message's failure must never end the batch
        return Unknown(f"{name}: {type(exc).__name__}: {exc}"[:MAX_ERROR_CHARS])
    status = response.status_code
    if 200 <= status < 300:
        return Sent()
    message = f"{name}: HTTP {status}: {platform_message(response)}"
    if status in (408, 429) or status >= 500:
        return Retry(message, after=retry_after(response))
    return Dead(message)


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
    header = parse_retry_after(response.headers.get("retry-after"))
    if header is not None:
        return header
    try:
        value = json.loads(response.text).get("retry_after")
        return max(0.0, float(value)) if value is not None else None
    except (ValueError, AttributeError, TypeError):
        return None
