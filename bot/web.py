"""The one-click unsubscribe endpoint (RFC 8058), served when [web] is configured.

Each e-mail carries a link signed for its subscription and address:
  {public_url}/unsubscribe?s=SUB&a=ADDRESS&t=HMAC
GET shows a page with one button (link scanners and mail previews fetch links, so a GET
never unsubscribes); POST, from that button or from the mail client's one-click
(body "List-Unsubscribe=One-Click"), records the unsubscribe at once.

The standard library's threading HTTP server is enough for one form and one POST; a web
framework would be the larger part of the worker for this.
"""

from __future__ import annotations

import hashlib
import hmac
import html
import logging
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlencode, urlsplit

from bot.config import WebConfig, listen_address

log = logging.getLogger("reportbot.web")
MAX_BODY = 4096


def token(secret: bytes, subscription: str, address: str) -> str:
    message = f"{subscription}\n{address.strip().lower()}".encode()
    return hmac.new(secret, message, hashlib.sha256).hexdigest()[:32]


def unsubscribe_link(web: WebConfig, secret: bytes, subscription: str, address: str) -> str:
    query = urlencode({"s": subscription, "a": address, "t": token(secret, subscription, address)})
    return f"{web.public_url.rstrip('/')}/unsubscribe?{query}"


def serve(
    web: WebConfig, secret: bytes, unsubscribe: Callable[[str, str], bool]
) -> ThreadingHTTPServer:
    """Start the endpoint in a daemon thread; `unsubscribe(subscription, address)` records
    one. Returns the server (call shutdown() to stop it)."""

    class Handler(BaseHTTPRequestHandler):
        server_version = "reportbot"

        def do_GET(self) -> None:
            found = self._checked(self.path)
            if found is None:
                return
            sub, address = found
            self._page(
                200,
                f"Stop receiving “{html.escape(sub)}” at {html.escape(address)}?",
                f'<form method="post" action="{html.escape(self.path)}">'
                '<button type="submit">Unsubscribe</button></form>',
            )

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            self.rfile.read(min(length, MAX_BODY))
            found = self._checked(self.path)
            if found is None:
                return
            sub, address = found
            unsubscribe(sub, address)
            log.info("unsubscribed", extra={"subscription": sub, "via": "one-click"})
            self._page(200, "You are unsubscribed.", "No further messages will be sent.")

        def _checked(self, path: str) -> tuple[str, str] | None:
            parts = urlsplit(path)
            query = {k: v[0] for k, v in parse_qs(parts.query).items()}
            sub, address, given = query.get("s", ""), query.get("a", ""), query.get("t", "")
            if parts.path != "/unsubscribe" or not (sub and address):
                self._page(404, "Not found.", "")
                return None
            if not hmac.compare_digest(given, token(secret, sub, address)):
                self._page(403, "This link is not valid.", "Use the link from a recent e-mail.")
                return None
            return sub, address

        def _page(self, status: int, title: str, body: str) -> None:
            page = (
                '<!doctype html><meta charset="utf-8">'
                '<meta name="viewport" content="width=device-width">'
                f"<title>reportbot</title><h1>{title}</h1><p>{body}</p>"
            ).encode()
            self.send_response(status)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(page)))
            self.end_headers()
            self.wfile.write(page)

        def log_message(self, format: str, *args: object) -> None:
            pass  # the default logs the full URL, which holds the address and its token

    server = ThreadingHTTPServer(listen_address(web.listen), Handler)
    threading.Thread(target=server.serve_forever, name="reportbot-web", daemon=True).start()
    return server
