"""HTTP in: one polite, bounded, guarded conditional GET per feed. No parsing here.

- Conditional GET with the stored ETag and Last-Modified (both sent).
- Bodies are read raw and decompressed here, chunk by chunk, with the output capped: httpx's
  own decoders inflate a whole chunk at once, so a gzip bomb could allocate far past the cap.
- Redirects are followed by hand (at most 5) so that every hop passes the address guard.
- The address guard resolves the host itself, refuses loopback, private, link-local,
  multicast, reserved and cloud-metadata addresses (IPv4 and IPv6, including IPv4-mapped,
  6to4 and NAT64 forms), and then connects to the very address it checked (Host header and
  TLS SNI keep the name), so a DNS answer cannot change between check and connect.
- Per-host concurrency is bounded; 429 and 503 report Retry-After to the scheduler.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import ssl
import zlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from urllib.parse import urljoin, urlsplit

import brotli
import httpx

from bot.models import FeedState, FetchResult
from bot.retry import parse_retry_after

MAX_REDIRECTS = 5
_PERMANENT = (301, 308)
_REDIRECTS = (301, 302, 303, 307, 308)
_METADATA = {ipaddress.ip_address("169.254.169.254"), ipaddress.ip_address("fd00:ec2::254")}
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_NAT64_LOCAL = ipaddress.ip_network("64:ff9b:1::/48")
_SIXTOFOUR = ipaddress.ip_network("2002::/16")


class _Refused(Exception):
    """A fetch stopped on purpose; the message is for the operator."""


def forbidden_reason(address: str) -> str | None:
    """Why this address must not be fetched from, or None when it is a public address."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return f"{address!r} is not an IP address"
    embedded: list[ipaddress.IPv4Address | ipaddress.IPv6Address] = [ip]
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            embedded.append(ip.ipv4_mapped)
        if ip in _NAT64 or ip in _NAT64_LOCAL:
            embedded.append(ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF))
        if ip.sixtofour is not None:
            embedded.append(ip.sixtofour)
        if ip.teredo is not None:
            embedded.append(ip.teredo[1])
    # the embedded IPv4 address first: it says most precisely where the packets would go
    for candidate in reversed(embedded):
        if candidate in _METADATA:
            return f"{address} is a cloud metadata address"
        for label, flag in (
            ("unspecified", candidate.is_unspecified),
            ("loopback", candidate.is_loopback),
            ("link-local", candidate.is_link_local),
            ("multicast", candidate.is_multicast),
            ("reserved", candidate.is_reserved),
            ("private", candidate.is_private),
        ):
            if flag:
                return f"{address} is a {label} address"
    return None


class Fetcher:
    """Pooled keep-alive connections for a poll cycle, a small pool per host. Use as an async
    context manager.

    A pool per host rather than one shared pool: httpcore scans every pooled connection for
    every queued request, which with 100 connections cost a quarter of a cold cycle's CPU.
    The clients share one TLS context (loading the CA bundle once)."""

    def __init__(
        self,
        user_agent: str,
        *,
        per_host: int = 2,
        connect_timeout: float = 10.0,
        read_timeout: float = 30.0,
        total_timeout: float = 60.0,
        max_body_bytes: int = 10 * 1024 * 1024,
    ) -> None:
        self.user_agent = user_agent
        self.per_host = per_host
        self.total_timeout = total_timeout
        self.max_body_bytes = max_body_bytes
        self._timeout = httpx.Timeout(
            connect=connect_timeout, read=read_timeout, write=read_timeout, pool=total_timeout
        )
        self._limits = httpx.Limits(max_connections=per_host, max_keepalive_connections=per_host)
        self._hosts: dict[str, asyncio.Semaphore] = {}
        self._clients: dict[str, httpx.AsyncClient] = {}
        self._tls: ssl.SSLContext | None = None
        self._open = False

    async def __aenter__(self) -> Fetcher:
        self._open = True
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._open = False
        clients, self._clients = list(self._clients.values()), {}
        for client in clients:
            await client.aclose()

    def _client_for(self, netloc: str) -> httpx.AsyncClient:
        client = self._clients.get(netloc)
        if client is None:
            if self._tls is None:
                self._tls = httpx.create_ssl_context(trust_env=False)  # as the clients
            client = self._clients[netloc] = httpx.AsyncClient(
                timeout=self._timeout,
                limits=self._limits,
                follow_redirects=False,
                trust_env=False,
                verify=self._tls,
            )
        return client

    async def fetch(self, state: FeedState) -> FetchResult:
        """Fetch the feed; never raises for network or HTTP trouble (see FetchResult.error)."""
        url = state.url
        try:
            async with asyncio.timeout(self.total_timeout):
                return await self._follow(state)
        except TimeoutError:
            return FetchResult(
                url=url, status=None, error=f"no complete answer within {self.total_timeout:.0f} s"
            )
        except _Refused as exc:
            return FetchResult(url=url, status=None, error=str(exc))
        except httpx.HTTPError as exc:
            return FetchResult(url=url, status=None, error=_describe(exc))
        except OSError as exc:
            return FetchResult(url=url, status=None, error=f"network error: {exc}")

    async def _follow(self, state: FeedState) -> FetchResult:
        url = state.url
        permanent: str | None = None
        only_permanent = True
        for hop in range(MAX_REDIRECTS + 1):
            headers = {
                "User-Agent": self.user_agent,
                "Accept-Encoding": "gzip, deflate, br",
                "Accept": "application/rss+xml, application/atom+xml, "
                "application/xml;q=0.9, text/xml;q=0.9, */*;q=0.5",
            }
            if hop == 0 or url == state.url:
                if state.etag:
                    headers["If-None-Match"] = state.etag
                if state.last_modified:
                    headers["If-Modified-Since"] = state.last_modified
            async with self._request(url, headers, state.allow_private) as response:
                status = response.status_code
                if status in _REDIRECTS:
                    location = response.headers.get("location")
                    if not location:
                        raise _Refused(f"HTTP {status} redirect without a Location from {url}")
                    target = urljoin(url, location)
                    if status in _PERMANENT and only_permanent:
                        permanent = target
                    else:
                        only_permanent = False
                    url = target
                    continue
                etag = response.headers.get("etag")
                modified = response.headers.get("last-modified")
                if status == 304:
                    return FetchResult(
                        url=url,
                        status=status,
                        permanent_redirect=permanent,
                        etag=etag,
                        last_modified=modified,
                    )
                if status >= 400 or status < 200:
                    retry = parse_retry_after(response.headers.get("retry-after"))
                    reason = f"HTTP {status} {response.reason_phrase or ''}".strip()
                    return FetchResult(
                        url=url,
                        status=status,
                        permanent_redirect=permanent,
                        retry_after=retry if status in (429, 503) else None,
                        error=f"{reason} from {url}",
                    )
                body = await self._read_body(response, url)
                return FetchResult(
                    url=url,
                    status=status,
                    permanent_redirect=permanent,
                    body=body,
                    etag=etag,
                    last_modified=modified,
                    content_type=response.headers.get("content-type", ""),
                )
        raise _Refused(f"more than {MAX_REDIRECTS} redirects, starting at {state.url}")

    @asynccontextmanager
    async def _request(
        self, url: str, headers: dict[str, str], allow_private: bool
    ) -> AsyncIterator[httpx.Response]:
        assert self._open, "use Fetcher as an async context manager"
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise _Refused(f"not an http(s) URL: {url}")
        host = parts.hostname
        address = await _resolve(host, parts.port or (443 if parts.scheme == "https" else 80))
        reason = forbidden_reason(address)
        if reason and not allow_private:
            raise _Refused(
                f"refused {host}: {reason}; if intended, set allow_private = true for this "
                "feed (--allow-private on the command line)"
            )
        target = httpx.URL(url).copy_with(host=address)
        headers = {**headers, "Host": parts.netloc.rsplit("@", 1)[-1]}
        semaphore = self._hosts.setdefault(parts.netloc, asyncio.Semaphore(self.per_host))
        async with semaphore:
            client = self._client_for(parts.netloc)
            request = client.build_request(
                "GET", target, headers=headers, extensions={"sni_hostname": host}
            )
            response = await client.send(request, stream=True)
            try:
                yield response
            finally:
                await response.aclose()

    async def _read_body(self, response: httpx.Response, url: str) -> bytes:
        cap = self.max_body_bytes
        declared = response.headers.get("content-length", "")
        if (
            declared.isdigit()
            and int(declared) > cap
            and "content-encoding" not in response.headers
        ):
            raise _Refused(f"body of {int(declared):,} bytes is over the {cap:,}-byte cap: {url}")
        decoder = _Decoder(response.headers.get("content-encoding", ""), cap)
        out = bytearray()
        async for chunk in response.aiter_raw():
            out += decoder.feed(chunk)
            if len(out) > cap or decoder.over:
                raise _Refused(f"body is over the {cap:,}-byte cap (after decompression): {url}")
        out += decoder.flush()
        if len(out) > cap or decoder.over:
            raise _Refused(f"body is over the {cap:,}-byte cap (after decompression): {url}")
        return bytes(out)


class _Decoder:
    """Content-Encoding decoding that never produces more than `cap` bytes in all."""

    def __init__(self, encoding: str, cap: int) -> None:
        self.encoding = encoding.strip().lower()
        self.cap = cap
        self.produced = 0
        self.over = False
        self._zlib: zlib._Decompress | None = None
        self._brotli: brotli.Decompressor | None = None
        if self.encoding in ("gzip", "x-gzip"):
            self._zlib = zlib.decompressobj(16 + zlib.MAX_WBITS)
        elif self.encoding == "deflate":
            self._zlib = zlib.decompressobj()
        elif self.encoding == "br":
            self._brotli = brotli.Decompressor()
        elif self.encoding not in ("", "identity"):
            raise _Refused(f"unsupported Content-Encoding {encoding!r}")

    def feed(self, data: bytes) -> bytes:
        room = self.cap + 1 - self.produced  # one byte more than allowed tells us we are over
        if self._zlib is not None:
            try:
                chunk = self._zlib.decompress(data, room)
            except zlib.error as exc:
                raise _Refused(f"corrupt {self.encoding} body: {exc}") from exc
            if self._zlib.unconsumed_tail:
                self.over = True
        elif self._brotli is not None:
            try:
                chunk = self._brotli.process(data, output_buffer_limit=room)
            except brotli.error as exc:
                raise _Refused(f"corrupt br body: {exc}") from exc
            if not self._brotli.can_accept_more_data():
                self.over = True
        else:
            chunk = data
        self.produced += len(chunk)
        self.over = self.over or self.produced > self.cap
        return chunk

    def flush(self) -> bytes:
        if self._zlib is not None and not self.over:
            return self._zlib.flush(self.cap + 1 - self.produced)
        return b""


async def _resolve(host: str, port: int) -> str:
    """The first address the host resolves to (the one we then connect to)."""
    try:
        ipaddress.ip_address(host)
        return host
    except ValueError:
        pass
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise _Refused(f"cannot resolve {host}: {exc.strerror or exc}") from exc
    if not infos:
        raise _Refused(f"cannot resolve {host}: no addresses")
    return str(infos[0][4][0])


def _describe(exc: httpx.HTTPError) -> str:
    kinds: dict[type[httpx.HTTPError], str] = {
        httpx.ConnectTimeout: "connect timed out",
        httpx.ReadTimeout: "read timed out",
        httpx.ConnectError: "could not connect",
        httpx.RemoteProtocolError: "broken HTTP answer",
    }
    kind = kinds.get(type(exc), type(exc).__name__)
    try:
        url = str(exc.request.url)
    except RuntimeError:  # no request attached
        url = ""
    detail = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{kind}: {detail} {url}".strip()
