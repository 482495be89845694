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
import json
import time
from collections.abc import Sequence
from typing import Any

from bot import render
from bot.deliver.channel import Channel
from bot.deliver.http import Request
from bot.export import iso
from bot.models import Digest, DigestItem, Rendered
from bot.render import Alert


class Webhook:
    name = "webhook"
    preview = "json"
    min_interval = 0.0

    def check(self, *, template_dir: str = "") -> None:
        """Nothing to check: the JSON is the schema (docs/WEBHOOK.md), not a template."""

    def render(self, digest: Digest, *, template_dir: str = "") -> Rendered:
        """The body documented in docs/WEBHOOK.md. `period` is the range of the items' own
        dates (see digest.build), not the schedule's."""
        digest = render.outgoing_digest(digest)
        subject = render.subject(digest)
        payload = {
            "subscription": digest.subscription,
            "subject": subject,
            "period": {"start": iso(digest.period_start), "end": iso(digest.period_end)},
            "items": [_item(i) for i in digest.items],
        }
        body = json.dumps(payload, ensure_ascii=False)
        return Rendered(format=self.preview, subject=subject, payloads=(body,))

    def render_alerts(self, alerts: Sequence[Alert]) -> str:
        items = [{"at": iso(at), "kind": what, "message": message} for at, what, message in alerts]
        return json.dumps({"alerts": items}, ensure_ascii=False)

    def request(self, *, url: str, payload: str, key: str, secret: bytes) -> Request:
        body = payload.encode()
        timestamp = str(int(time.time()))
        headers = {
            "X-Reportbot-Timestamp": timestamp,
            "X-Reportbot-Signature": signature(secret, timestamp, body),
            "X-Reportbot-Delivery": key,
        }
        return Request(url, body, headers)


def _item(i: DigestItem) -> dict[str, Any]:
    return {
        "title": i.title,
        "link": i.link,
        "page": i.page,
        "published": iso(i.published),
        "feed": i.feed_title,
        "excerpt": i.excerpt,
        "figures": [
            {
                "text": f.text,
                "claim": f.claim,
                "what": f.what,
                "kind": f.kind,
                "value": f.value,
                "sentence": f.sentence,
            }
            for f in i.figures
        ],
        "quote": None
        if i.quote is None
        else {"text": i.quote.text, "speaker": i.quote.speaker, "role": i.quote.role},
    }


def signature(secret: bytes, timestamp: str, body: bytes) -> str:
    digest = hmac.new(secret, timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


CHANNEL: Channel = Webhook()
