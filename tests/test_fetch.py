"""bot.fetch against a real HTTP server on 127.0.0.1."""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import socket
import ssl
import subprocess
import threading
import time
import tracemalloc
import zlib
from collections.abc import Callable, Iterator
from dataclasses import replace
from email.utils import formatdate
from pathlib import Path

import brotli
import pytest

from bot.fetch import Fetcher, forbidden_reason
from bot.models import FeedState, FetchResult
from tests.feedserver import FeedServer, Reply, rss

FEED = rss([("g1", "One", "Body one")])
CAP = 1_000_000


@pytest.fixture
def server() -> Iterator[FeedServer]:
    with FeedServer() as s:
        yield s


def _state(url: str, **kw: object) -> FeedState:
    base = FeedState.first_poll(url, allow_private=True)
    return replace(base, **kw)  # type: ignore[arg-type]


def _fetch(state: FeedState, **kw: object) -> FetchResult:
    async def go() -> FetchResult:
        options = {"user_agent": "reportbot-test/1", "max_body_bytes": CAP, **kw}
        async with Fetcher(**options) as fetcher:  # type: ignore[arg-type]
            return await fetcher.fetch(state)

    return asyncio.run(go())


def test_200_returns_body_and_validators(server: FeedServer) -> None:
    server.routes["/f"] = lambda h: Reply(
        200, FEED, {"ETag": '"v1"', "Last-Modified": "Mon, 02 Dec 2024 10:00:00 GMT"}
    )
    result = _fetch(_state(server.url("/f")))
    assert (result.status, result.body, result.etag) == (200, FEED, '"v1"')
    assert result.last_modified == "Mon, 02 Dec 2024 10:00:00 GMT" and result.error is None


def test_sends_both_validators_and_user_agent(server: FeedServer) -> None:
    server.routes["/f"] = lambda h: Reply(304)
    result = _fetch(
        _state(server.url("/f"), etag='"v1"', last_modified="Mon, 02 Dec 2024 10:00:00 GMT")
    )
    _, headers = server.requests[-1]
    assert headers["if-none-match"] == '"v1"'
    assert headers["if-modified-since"] == "Mon, 02 Dec 2024 10:00:00 GMT"
    assert headers["user-agent"] == "reportbot-test/1"
    assert result.not_modified and result.body is None


@pytest.mark.parametrize("code", [301, 308])
def test_permanent_redirect_is_reported(server: FeedServer, code: int) -> None:
    server.routes["/old"] = lambda h: Reply(code, headers={"Location": "/new"})
    server.routes["/new"] = lambda h: Reply(200, FEED)
    result = _fetch(_state(server.url("/old")))
    assert result.body == FEED and result.permanent_redirect == server.url("/new")


def test_temporary_redirect_is_not_permanent(server: FeedServer) -> None:
    server.routes["/old"] = lambda h: Reply(302, headers={"Location": "/new"})
    server.routes["/new"] = lambda h: Reply(200, FEED)
    assert _fetch(_state(server.url("/old"))).permanent_redirect is None


def test_redirect_loop_stops_after_five(server: FeedServer) -> None:
    server.routes["/loop"] = lambda h: Reply(302, headers={"Location": "/loop"})
    result = _fetch(_state(server.url("/loop")))
    assert result.error is not None and "more than 5 redirects" in result.error
    assert len(server.requests) == 6


@pytest.mark.parametrize("code", [404, 410, 500])
def test_http_errors(server: FeedServer, code: int) -> None:
    server.routes["/f"] = lambda h: Reply(code, b"no")
    result = _fetch(_state(server.url("/f")))
    assert result.status == code and result.error is not None and f"HTTP {code}" in result.error


@pytest.mark.parametrize("code", [429, 503])
def test_retry_after_is_honoured(server: FeedServer, code: int) -> None:
    server.routes["/f"] = lambda h: Reply(code, b"slow down", {"Retry-After": "120"})
    result = _fetch(_state(server.url("/f")))
    assert result.retry_after == 120.0 and result.error is not None


def test_retry_after_as_an_http_date_is_honoured(server: FeedServer) -> None:
    when = formatdate(time.time() + 600, usegmt=True)  # RFC 9110 allows a date too
    server.routes["/f"] = lambda h: Reply(503, b"maintenance", {"Retry-After": when})
    result = _fetch(_state(server.url("/f")))
    assert result.retry_after is not None and 500 < result.retry_after <= 600


def test_slow_body_times_out(server: FeedServer) -> None:
    server.routes["/f"] = lambda h: Reply(200, FEED, delay=3)
    result = _fetch(_state(server.url("/f")), read_timeout=0.5, total_timeout=2)
    assert result.error is not None and "timed out" in result.error


def test_truncated_body_is_an_error(server: FeedServer) -> None:
    server.routes["/f"] = lambda h: Reply(200, FEED, truncate_to=20)
    result = _fetch(_state(server.url("/f")))
    assert result.body is None and result.error is not None


@pytest.mark.slow
def test_gzip_bomb_never_allocates_past_the_cap(server: FeedServer) -> None:
    bomb = gzip.compress(b"\0" * 200_000_000, compresslevel=9)  # 200 MB as ~200 KB
    server.routes["/f"] = lambda h: Reply(200, bomb, {"Content-Encoding": "gzip"})
    tracemalloc.start()
    result = _fetch(_state(server.url("/f")))
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert result.error is not None and "over the" in result.error
    assert peak < 8 * CAP  # bounded by the cap, not by the 200 MB the bomb inflates to


def test_brotli_and_deflate_are_decoded(server: FeedServer) -> None:
    server.routes["/br"] = lambda h: Reply(200, brotli.compress(FEED), {"Content-Encoding": "br"})
    server.routes["/df"] = lambda h: Reply(
        200, zlib.compress(FEED), {"Content-Encoding": "deflate"}
    )
    assert _fetch(_state(server.url("/br"))).body == FEED
    assert _fetch(_state(server.url("/df"))).body == FEED


def test_large_declared_body_refused_unread(server: FeedServer) -> None:
    server.routes["/f"] = lambda h: Reply(200, b"x" * (5 * CAP))
    result = _fetch(_state(server.url("/f")))
    assert result.error is not None and "cap" in result.error


def test_large_streamed_body_cut_at_cap(server: FeedServer) -> None:
    server.routes["/f"] = lambda h: Reply(200, chunks=iter([b"x" * 65536] * 800))  # 50 MB
    result = _fetch(_state(server.url("/f")))
    assert result.error is not None and "cap" in result.error


def test_private_address_refused_without_allow_private(server: FeedServer) -> None:
    server.routes["/f"] = lambda h: Reply(200, FEED)
    result = _fetch(_state(server.url("/f"), allow_private=False))
    assert result.error is not None and "loopback" in result.error
    assert "allow_private" in result.error and server.requests == []


def test_localhost_name_is_resolved_and_checked(server: FeedServer) -> None:
    server.routes["/f"] = lambda h: Reply(200, FEED)
    url = f"http://localhost:{server.port}/f"
    assert _fetch(_state(url, allow_private=False)).error is not None
    ok = _fetch(_state(url))
    assert ok.body == FEED
    assert server.requests[-1][1]["host"] == f"localhost:{server.port}"


@pytest.mark.parametrize(
    ("address", "kind"),
    [
        ("127.0.0.1", "loopback"),
        ("10.1.2.3", "private"),
        ("192.168.1.1", "private"),
        ("172.16.0.1", "private"),
        ("169.254.169.254", "metadata"),
        ("224.0.0.1", "multicast"),
        ("0.0.0.0", "unspecified"),
        ("240.0.0.1", "reserved"),
        ("::1", "loopback"),
        ("fe80::1", "link-local"),
        ("fc00::1", "private"),
        ("::ffff:127.0.0.1", "loopback"),
        ("::ffff:169.254.169.254", "metadata"),
        ("64:ff9b::a9fe:a9fe", "metadata"),
        ("64:ff9b::7f00:1", "loopback"),
        ("2002:7f00:1::", "loopback"),
    ],
)
def test_forbidden_addresses(address: str, kind: str) -> None:
    reason = forbidden_reason(address)
    assert reason is not None and kind in reason


@pytest.mark.parametrize("address", ["93.184.216.34", "2606:2800:220:1:248:1893:25c8:1946"])
def test_public_addresses_allowed(address: str) -> None:
    assert forbidden_reason(address) is None


@pytest.fixture
def tls_server(tmp_path: Path) -> Iterator[tuple[int, list[str]]]:
    """A TLS server on 127.0.0.1 with a self-signed certificate for "localhost"; it records
    the server name (SNI) each client asks for."""
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    request = "req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=localhost".split()
    command = ["openssl", *request, "-keyout", str(key), "-out", str(cert)]
    subprocess.run(command, check=True, capture_output=True)
    names: list[str] = []
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)

    def note_name(_sock: ssl.SSLObject, name: str | None, _ctx: ssl.SSLContext) -> None:
        names.append(name or "")

    context.sni_callback = note_name  # type: ignore[assignment]
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.2)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            with conn, contextlib.suppress(OSError):
                context.wrap_socket(conn, server_side=True).close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield listener.getsockname()[1], names
    stop.set()
    thread.join(5)
    listener.close()


def test_https_sends_the_host_name_and_refuses_an_untrusted_certificate(
    tls_server: tuple[int, list[str]],
) -> None:
    port, names = tls_server
    result = _fetch(_state(f"https://localhost:{port}/feed"))
    assert names == ["localhost"]  # SNI carries the name although we connect to the address
    assert result.error is not None and "certificate" in result.error.lower()
    assert result.body is None


def test_at_most_per_host_requests_to_one_host_at_once() -> None:
    """Two hosts (two ports), six feeds each, per_host=2: each host sees at most two requests
    at a time, and the two hosts are served side by side."""
    lock = threading.Lock()
    inflight = {"a": 0, "b": 0, "all": 0}
    peak = dict(inflight)

    def slow(host: str) -> Callable[[dict[str, str]], Reply]:
        def handler(_headers: dict[str, str]) -> Reply:
            with lock:
                for key in (host, "all"):
                    inflight[key] += 1
                    peak[key] = max(peak[key], inflight[key])
            time.sleep(0.2)
            with lock:
                for key in (host, "all"):
                    inflight[key] -= 1
            return Reply(200, FEED)

        return handler

    async def go(urls: list[str]) -> list[FetchResult]:
        async with Fetcher(user_agent="reportbot-test/1", per_host=2) as fetcher:
            return await asyncio.gather(*(fetcher.fetch(_state(u)) for u in urls))

    with FeedServer() as a, FeedServer() as b:
        urls = []
        for name, server in (("a", a), ("b", b)):
            for n in range(6):
                server.routes[f"/f{n}"] = slow(name)
                urls.append(server.url(f"/f{n}"))
        results = asyncio.run(go(urls))
    assert all(r.status == 200 for r in results)
    assert peak["a"] == 2 and peak["b"] == 2
    assert peak["all"] == 4
