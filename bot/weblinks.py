"""The links the bot sends out to its web site: signed one-click unsubscribe links and item
pages. Kept apart from bot.webapp so a delivery builds its links without importing the web
framework.

An unsubscribe link is signed for its subscription and address:
  {public_url}/unsubscribe?s=SUB&a=ADDRESS&t=HMAC
Links already sent stay valid as long as the key ([web] secret_env) does: `token` must not
change.
"""

from __future__ import annotations

import hashlib
import hmac
from urllib.parse import urlencode

from bot.config import WebConfig


def token(secret: bytes, subscription: str, address: str) -> str:
    message = f"{subscription}\n{address.strip().lower()}".encode()
    return hmac.new(secret, message, hashlib.sha256).hexdigest()[:32]


def token_ok(secret: bytes, *, subscription: str, address: str, given: str) -> bool:
    """Whether `given` is the link's signature (compared in constant time)."""
    return hmac.compare_digest(given, token(secret, subscription, address))


def unsubscribe_link(web: WebConfig, secret: bytes, subscription: str, address: str) -> str:
    query = urlencode({"s": subscription, "a": address, "t": token(secret, subscription, address)})
    return f"{web.public_url.rstrip('/')}/unsubscribe?{query}"


def item_link(public_url: str, item_id: int) -> str:
    """The item's page on the site."""
    return f"{public_url.rstrip('/')}/item/{item_id}"
