"""Scale-out proof: several workers on one PostgreSQL, one killed with SIGKILL every few
seconds and restarted, sharing a local farm of feeds and a set of digest subscriptions.

    .venv/bin/python bench/scaleout.py [--feeds 500] [--subscriptions 200] [--workers 3]
                                       [--seconds 240] [--kill-every 5]

The farm publishes a new item in every feed every `item_every` seconds (the newest 10 are in
the document, with ETag and 304) and answers slowly (0.1 s), counting any request for a feed
that arrives while another request for it is still being answered. Each subscription reads
two feeds and sends a digest every minute to its own signed-webhook path on a local receiver.

At the end the farm stops publishing, every feed is polled once more and every subscription
sends its current period; then the checks: every item the farm published is archived exactly
once; each subscription received every item of its feeds archived since it was created, in
exactly one digest (duplicate posts only for deliveries marked `uncertain`, counted); no feed
was ever fetched by two workers at once; nothing is left `sending`.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import psycopg
import sqlalchemy as sa

PG = os.environ.get(
    "REPORTBOT_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
).replace("postgresql+psycopg://", "postgresql://")
WINDOW = 10  # items in each feed document
DELAY = 0.1  # seconds the farm takes to answer


@dataclass
class Farm:
    """Feeds that grow with time, and webhook paths that record what they receive."""

    feeds: int
    item_every: float
    started: float = field(default_factory=time.monotonic)
    frozen_at: float | None = None
    in_flight: Counter[str] = field(default_factory=Counter)
    overlaps: int = 0
    fetches: int = 0
    posts: list[tuple[str, str, list[str]]] = field(default_factory=list)  # path, key, links
    lock: threading.Lock = field(default_factory=threading.Lock)

    def published(self, feed: int) -> int:
        """How many items the feed has published so far (item k at k * item_every)."""
        now = self.frozen_at if self.frozen_at is not None else time.monotonic()
        return int((now - self.started) / self.item_every) + 1

    def document(self, feed: int) -> tuple[bytes, str]:
        count = self.published(feed)
        items = "".join(
            f"<item><title>Farm item {feed}-{k}</title>"
            f"<link>https://farm.example/{feed}/{k}</link>"
            f"<guid>https://farm.example/?p={feed}-{k}</guid>"
            f"<description>Review {k} of feed {feed} found 71% of cases late.</description></item>"
            for k in range(max(0, count - WINDOW), count)
        )
        body = (
            '<?xml version="1.0"?><rss version="2.0"><channel>'
            f"<title>Farm {feed}</title><link>https://farm.example/{feed}/</link>"
            f"<description>d</description>{items}</channel></rss>"
        ).encode()
        return body, f'"{count}"'


def serve(farm: Farm) -> tuple[ThreadingHTTPServer, int]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            path = self.path
            with farm.lock:
                if farm.in_flight[path]:
                    farm.overlaps += 1
                farm.in_flight[path] += 1
                farm.fetches += 1
            try:
                time.sleep(DELAY)
                body, etag = farm.document(int(path.rsplit("/", 1)[1]))
                if self.headers.get("If-None-Match") == etag:
                    self.send_response(304)
                    self.send_header("ETag", etag)
                    self.end_headers()
                    return
                self.send_response(200)
                self.send_header("Content-Type", "application/rss+xml")
                self.send_header("ETag", etag)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            finally:
                with farm.lock:
                    farm.in_flight[path] -= 1

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            time.sleep(DELAY / 2)  # a receiver that takes a while: kills land mid-post too
            links = [i["link"] for i in json.loads(body)["items"]]
            with farm.lock:
                farm.posts.append((self.path, self.headers["X-Reportbot-Delivery"], links))
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args: object) -> None:
            pass

    class Server(ThreadingHTTPServer):
        request_queue_size = 1024

        def handle_error(self, request: object, client_address: object) -> None:
            pass  # a worker killed mid-request hangs up: that is the point of the run

    server = Server(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, int(server.server_address[1])


def write_config(path: Path, url: str, port: int, feeds: int, subscriptions: int) -> dict[str, str]:
    lines = [f'[archive]\nurl = "{url}"\n[worker]\nlease = "15s"\nconcurrency = 20\n']
    for n in range(feeds):
        lines.append(
            f'[[feeds]]\nid = "f{n}"\nurl = "http://127.0.0.1:{port}/feed/{n}"\n'
            'interval = "1m"\nallow_private = true\n'
        )
    env = {"HOOK_KEY": "k" * 24}
    for m in range(subscriptions):
        env[f"HOOK_{m}"] = f"http://127.0.0.1:{port}/hook/s{m}"
        lines.append(
            f'[[subscriptions]]\nid = "s{m}"\nfeeds = ["f{m % feeds}", "f{(m + 1) % feeds}"]\n'
            'schedule = "* * * * *"\ntimezone = "UTC"\nmax_items = 500\n'
            f'channel = {{ kind = "webhook", url_env = "HOOK_{m}", secret_env = "HOOK_KEY" }}\n'
        )
    path.write_text("\n".join(lines))
    return env


@dataclass(frozen=True)
class Report:
    seconds: float
    kills: int
    fetches: int
    overlaps: int  # a feed fetched while another fetch of it was being answered
    published: int
    archived: int
    duplicate_items: int  # an item archived twice
    missing_items: int  # published but not archived
    deliveries: int
    posts: int
    uncertain: int  # deliveries that may have been posted twice
    duplicate_posts: int  # posts beyond the first of a key
    unexplained_duplicates: int  # duplicate posts of a delivery not marked uncertain
    missed_in_digests: int  # (subscription, item) never delivered
    repeated_in_digests: int  # (subscription, item) in two different deliveries
    stuck_sending: int

    def ok(self) -> bool:
        return not (
            self.overlaps
            or self.duplicate_items
            or self.missing_items
            or self.unexplained_duplicates
            or self.missed_in_digests
            or self.repeated_in_digests
            or self.stuck_sending
        )


def run(
    feeds: int, subscriptions: int, workers: int, seconds: float, kill_every: float, work: Path
) -> Report:
    schema = f"rbscale_{uuid.uuid4().hex[:10]}"
    admin = psycopg.connect(PG, autocommit=True)
    admin.execute(f'CREATE SCHEMA "{schema}"')
    url = f"{PG}?options=-csearch_path%3D{schema}"
    farm = Farm(feeds, item_every=20.0)
    server, port = serve(farm)
    config = work / "scale.toml"
    env = {**os.environ, **write_config(config, url, port, feeds, subscriptions)}
    env.pop("REPORTBOT_DATABASE_URL", None)
    bot = [sys.executable, "-m", "bot", "--config", str(config)]
    log = (work / "workers.log").open("w")

    def start() -> subprocess.Popen[bytes]:
        return subprocess.Popen([*bot, "run", "--tick", "1"], env=env, stdout=log, stderr=log)

    began = time.monotonic()
    kills = 0
    try:
        # subscriptions start from their creation: create them before the first poll, so
        # the farm's first items are theirs too
        subprocess.run([*bot, "digest", "send"], env=env, check=True, capture_output=True)
        procs = [start() for _ in range(workers)]
        rng = random.Random(7)
        while time.monotonic() - began < seconds:
            time.sleep(kill_every)
            victim = rng.randrange(workers)
            procs[victim].send_signal(signal.SIGKILL)
            procs[victim].wait()
            kills += 1
            procs[victim] = start()
        for p in procs:
            p.send_signal(signal.SIGTERM)
        for p in procs:
            p.wait(timeout=30)
        farm.frozen_at = time.monotonic()
        time.sleep(16)  # the last killed worker's leases expire (lease 15 s)
        engine = sa.create_engine(url.replace("postgresql://", "postgresql+psycopg://"))
        with engine.begin() as conn:
            conn.execute(sa.text("UPDATE feeds SET next_poll_at = now()"))
        subprocess.run([*bot, "poll"], env=env, check=True, capture_output=True)
        subprocess.run([*bot, "digest", "send", "--now"], env=env, check=True, capture_output=True)
        return _check(engine, farm, feeds, time.monotonic() - began, kills)
    finally:
        server.shutdown()
        log.close()
        admin.execute(f'DROP SCHEMA "{schema}" CASCADE')
        admin.close()


def _check(engine: sa.Engine, farm: Farm, feeds: int, seconds: float, kills: int) -> Report:
    with engine.connect() as conn:
        archived = Counter(guid for (guid,) in conn.execute(sa.text("SELECT guid FROM items")))
        rows = conn.execute(
            sa.text("SELECT subscription, key, state, uncertain FROM deliveries ORDER BY id")
        ).all()
        subs = {
            r.id: r.created_at
            for r in conn.execute(sa.text("SELECT id, created_at FROM subscriptions"))
        }
        first_seen = {
            (r.feed_key, r.link): r.first_seen
            for r in conn.execute(
                sa.text(
                    "SELECT f.key AS feed_key, i.link, i.first_seen FROM items i "
                    "JOIN feeds f ON f.id = i.feed_id"
                )
            )
        }
    published = {
        f"https://farm.example/?p={n}-{k}" for n in range(feeds) for k in range(farm.published(n))
    }
    posts_per_key = Counter(key for _, key, _ in farm.posts)
    uncertain_keys = {r.key for r in rows if r.uncertain}
    duplicates = {k: c - 1 for k, c in posts_per_key.items() if c > 1}
    # what each subscription received, one copy per delivery key
    received: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    for path, key, links in farm.posts:
        received[path.rsplit("/", 1)[1]][key.split("#")[0]].update(links)
    missed = repeated = 0
    m_feeds = len(subs)
    for m in range(m_feeds):
        sub = f"s{m}"
        mine = {f"f{m % feeds}", f"f{(m + 1) % feeds}"}
        expected = {
            link
            for (feed_key, link), seen in first_seen.items()
            if feed_key in mine and seen >= subs[sub]
        }
        per_delivery = received.get(sub, {})
        got = Counter(link for links in per_delivery.values() for link in links)
        missed += len(expected - set(got))
        repeated += sum(1 for c in got.values() if c > 1)
    return Report(
        seconds=seconds,
        kills=kills,
        fetches=farm.fetches,
        overlaps=farm.overlaps,
        published=len(published),
        archived=sum(archived.values()),
        duplicate_items=sum(c - 1 for c in archived.values() if c > 1),
        missing_items=len(published - set(archived)),
        deliveries=len(rows),
        posts=len(farm.posts),
        uncertain=len(uncertain_keys),
        duplicate_posts=sum(duplicates.values()),
        unexplained_duplicates=sum(
            c for k, c in duplicates.items() if k.split("#")[0] not in uncertain_keys
        ),
        missed_in_digests=missed,
        repeated_in_digests=repeated,
        stuck_sending=sum(1 for r in rows if r.state == "sending"),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--feeds", type=int, default=500)
    parser.add_argument("--subscriptions", type=int, default=200)
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=240)
    parser.add_argument("--kill-every", type=float, default=5)
    args = parser.parse_args()
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        report = run(
            args.feeds, args.subscriptions, args.workers, args.seconds, args.kill_every, Path(tmp)
        )
    for name, value in vars(report).items():
        print(f"{name:>24}: {value:.1f}" if isinstance(value, float) else f"{name:>24}: {value}")
    print("all checks passed" if report.ok() else "CHECKS FAILED")


if __name__ == "__main__":
    main()
