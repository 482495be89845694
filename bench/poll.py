"""Polling speed and memory against a local farm of WordPress-like feeds.

    .venv/bin/python bench/poll.py [--feeds 1000] [--latency 0.05] [--concurrency 100]

The farm runs in its own process: N feeds spread over several ports (politeness limits are
per host, and a real cycle talks to many hosts), 10 items of about 10 KB of text each (the
supplied dump's articles), ETag and Last-Modified, 304 on a match, and `latency` seconds
added to every response. Prints the cold cycle (everything new: fetched, parsed, extracted,
archived), a cycle where every feed answers 304, a warm cycle where every feed has one new
item among nine known ones, and the worker's memory over many cycles.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import multiprocessing
import tempfile
import threading
import time
from datetime import UTC, datetime
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING

import sqlalchemy as sa

from bot import schema
from bot.archive import Archive
from bot.config import Config, FeedConfig, WorkerConfig
from bot.dump import parse_dump
from bot.pipeline import poll_cycle

if TYPE_CHECKING:
    from multiprocessing.sharedctypes import Synchronized

DUMP = Path(__file__).resolve().parent.parent / "bot" / "data" / "communitycare-cspr-feed-dump.txt"
PORTS = 50


def _feed(n: int, articles: list[tuple[str, str]], newest: int = 0) -> bytes:
    """Feed n with len(articles) items, from item `newest` on: one more, one new item."""
    items = []
    for k in range(newest, newest + len(articles)):
        title, html = articles[k % len(articles)]
        items.append(
            f"<item><title>{title} ({n}-{k})</title>"
            f"<link>https://farm.example/{n}/{k}</link><guid>https://farm.example/?p={n}-{k}</guid>"
            f"<pubDate>Mon, 0{1 + k % 9} Dec 2024 10:00:00 +0000</pubDate>"
            f"<content:encoded><![CDATA[{html}]]></content:encoded></item>"
        )
    return (
        '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0" '
        'xmlns:content="http://purl.org/rss/1.0/modules/content/"><channel>'
        f"<title>Farm feed {n}</title><link>https://farm.example/{n}/</link>"
        f"<description>d</description>{''.join(items)}</channel></rss>"
    ).encode()


def serve_farm(
    feeds: int,
    latency: float,
    ready: multiprocessing.synchronize.Event,
    ports: list[int],
    newest: Synchronized[int] | None = None,
) -> None:
    """Serve the farm until killed; every feed starts its items at `newest` (0 unless set)."""
    from bot.htmltext import text_to_html

    parsed = parse_dump(DUMP.read_text(encoding="utf-8"), "dump")
    articles = [
        (i.title.replace("&", "and").replace("<", ""), text_to_html(i.text)) for i in parsed.items
    ]
    bodies: dict[tuple[int, int], tuple[bytes, str]] = {}

    def body(n: int) -> tuple[bytes, str]:
        version = newest.value if newest is not None else 0
        if (n, version) not in bodies:  # built once; a race only builds it twice
            data = _feed(n, articles, version)
            bodies[n, version] = data, '"' + hashlib.sha1(data).hexdigest()[:16] + '"'
        return bodies[n, version]

    for n in range(feeds):
        body(n)
    modified = format_datetime(datetime(2024, 12, 9, tzinfo=UTC), usegmt=True)

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            data, etag = body(int(self.path.rsplit("/", 1)[-1]))
            time.sleep(latency)
            if self.headers.get("If-None-Match") == etag:
                self.send_response(304)
                self.send_header("ETag", etag)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self.send_response(200)
            self.send_header("Content-Type", "application/rss+xml; charset=UTF-8")
            self.send_header("ETag", etag)
            self.send_header("Last-Modified", modified)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    for _ in range(PORTS):
        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        server.daemon_threads = True
        ports.append(server.server_address[1])
        threading.Thread(target=server.serve_forever, daemon=True).start()
    ready.set()
    threading.Event().wait()


def rss_mb(pid: int | str = "self") -> float:
    """Resident memory of a process (this one by default), in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--feeds", type=int, default=1000)
    parser.add_argument("--latency", type=float, default=0.05)
    parser.add_argument("--concurrency", type=int, default=100)
    parser.add_argument("--cycles", type=int, default=50, help="304 cycles for the memory check")
    args = parser.parse_args()

    manager = multiprocessing.Manager()
    ports = manager.list()
    ready = manager.Event()
    newest: Synchronized[int] = multiprocessing.Value("i", 0)
    farm = multiprocessing.Process(
        target=serve_farm, args=(args.feeds, args.latency, ready, ports, newest), daemon=True
    )
    farm.start()
    ready.wait(120)
    port_list = list(ports)
    feeds = tuple(
        FeedConfig(
            id=f"f{n}",
            url=f"http://127.0.0.1:{port_list[n % len(port_list)]}/feed/{n}",
            allow_private=True,
        )
        for n in range(args.feeds)
    )
    config = Config(feeds=feeds, worker=WorkerConfig(concurrency=args.concurrency))
    with tempfile.TemporaryDirectory() as tmp:
        archive = Archive(f"sqlite:///{tmp}/bench.db")
        archive.upgrade()
        print(
            f"farm: {args.feeds} feeds on {len(port_list)} ports, {args.latency * 1000:.0f} ms "
            f"latency; worker concurrency {args.concurrency}"
        )
        start = time.perf_counter()
        summary = asyncio.run(poll_cycle(archive, config, "bench"))
        took = time.perf_counter() - start
        items = archive.counts()["items"]
        print(
            f"cold cycle: {took:6.2f} s, {items} items archived with facts, "
            f"{items / took:6.0f} items/s ({summary.line})"
        )

        def due() -> None:
            with archive.engine.begin() as conn:
                conn.execute(sa.update(schema.feeds).values(next_poll_at=None))

        due()
        start = time.perf_counter()
        summary = asyncio.run(poll_cycle(archive, config, "bench"))
        took = time.perf_counter() - start
        print(f"304 cycle:  {took:6.2f} s for {summary.count('not_modified')} not-modified feeds")
        newest.value = 1  # every feed now leads with one new item and keeps nine known ones
        due()
        start = time.perf_counter()
        summary = asyncio.run(poll_cycle(archive, config, "bench"))
        took = time.perf_counter() - start
        print(f"warm cycle: {took:6.2f} s, one new item a feed, the rest known ({summary.line})")
        first = rss_mb()
        for _ in range(args.cycles):
            due()
            asyncio.run(poll_cycle(archive, config, "bench"))
        print(
            f"worker RSS: {first:.0f} MB after 3 cycles, {rss_mb():.0f} MB after "
            f"{args.cycles} more 304 cycles"
        )
        archive.close()
    farm.kill()


if __name__ == "__main__":
    main()
