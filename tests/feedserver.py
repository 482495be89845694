"""A real HTTP server on 127.0.0.1 for tests: routes map a path to a handler function."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Reply:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds before the body is sent
    chunks: Iterator[bytes] | None = None  # stream these instead of body (no Content-Length)
    truncate_to: int | None = None  # send only this many bytes of body, then close
    hang_up: bool = False  # read the request, then close without any answer


@dataclass(frozen=True)
class Received:
    """One POST as the server saw it."""

    path: str
    headers: dict[str, str]
    body: bytes
    at: float  # time.monotonic() on arrival


Handler = Callable[[dict[str, str]], Reply]


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request: object, client_address: object) -> None:
        pass  # a client that hangs up (timeouts, caps) is part of the tests


class FeedServer:
    """ThreadingHTTPServer with per-path handlers; records every request's headers."""

    def __init__(self) -> None:
        self.routes: dict[str, Handler] = {}
        self.requests: list[tuple[str, dict[str, str]]] = []
        self.posts: list[Received] = []
        server = self

        class _Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:  # keep test output clean
                pass

            def do_POST(self) -> None:
                headers = {k.lower(): v for k, v in self.headers.items()}
                body = self.rfile.read(int(headers.get("content-length") or 0))
                server.posts.append(Received(self.path, headers, body, time.monotonic()))
                self.do_GET(recorded=True)

            def do_GET(self, recorded: bool = False) -> None:
                headers = {k.lower(): v for k, v in self.headers.items()}
                if not recorded:
                    server.requests.append((self.path, headers))
                route = server.routes.get(self.path)
                reply = route(headers) if route else Reply(404, b"not found")
                if reply.hang_up:
                    self.close_connection = True
                    return
                if reply.delay:
                    time.sleep(reply.delay)
                self.send_response(reply.status)
                for k, v in reply.headers.items():
                    self.send_header(k, v)
                if reply.chunks is not None:
                    self.send_header("Transfer-Encoding", "chunked")
                    self.end_headers()
                    try:
                        for chunk in reply.chunks:
                            self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                        self.wfile.write(b"0\r\n\r\n")
                    except (BrokenPipeError, ConnectionResetError):
                        pass
                    return
                self.send_header("Content-Length", str(len(reply.body)))
                self.end_headers()
                body = reply.body if reply.truncate_to is None else reply.body[: reply.truncate_to]
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    self.wfile.write(body)
                if reply.truncate_to is not None:
                    self.close_connection = True

        self.httpd = _QuietServer(("127.0.0.1", 0), _Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        # shutdown() waits for serve_forever's next poll: 0.5 s by default, at every teardown
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def __enter__(self) -> FeedServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def rss(items: list[tuple[str, str, str]], title: str = "Test feed", extra: str = "") -> bytes:
    """A small RSS 2.0 document; items are (guid, title, body) and may lack a guid (""). An
    item's link is made of its GUID (of its place, without one): feeds giving items the same
    GUID and words carry one story (bot.identity.same_story)."""
    parts = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/">',
        f"<channel><title>{title}</title><link>https://feeds.example.org/</link>"
        f"<description>d</description>{extra}",
    ]
    for n, (guid, item_title, body) in enumerate(items):
        guid_el = f"<guid>{guid}</guid>" if guid else ""
        parts.append(
            f"<item><title>{item_title}</title><link>https://feeds.example.org/a/{guid or n}</link>"
            f"{guid_el}<pubDate>Mon, 0{1 + n % 9} Dec 2024 10:00:00 +0000</pubDate>"
            f"<content:encoded><![CDATA[<p>{body}</p>]]></content:encoded></item>"
        )
    parts.append("</channel></rss>")
    return "\n".join(parts).encode()
