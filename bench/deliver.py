"""Delivery speed: e-mail digests to a local SMTP sink, chat posts to a local receiver.

    .venv/bin/python bench/deliver.py [--emails 10000] [--posts 1000] [--destinations 250]

E-mail: one digest subscription (the dump's ten articles) with N addresses, queued and sent
by the real pipeline (render, build, one SMTP connection per batch, outbox records) to an
aiosmtpd sink in its own process that counts messages. Chat: D destinations (a quarter
Slack, paced at one post a second each; the rest Discord, Teams and signed webhooks), each
given posts/D deliveries, sent to a receiver in its own process that records every
request's arrival; the bench checks each Slack webhook's gaps after the run.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bot.archive import Archive
from bot.config import ChannelConfig, Config, SmtpConfig, SubscriptionConfig, WorkerConfig
from bot.pipeline import deliver_due, import_files

DUMP = Path(__file__).resolve().parent.parent / "bot" / "data" / "communitycare-cspr-feed-dump.txt"
KINDS = ("slack", "discord", "teams", "webhook")


def smtp_sink(port: int, ready: Any, count: Any, kind: str = "fast") -> None:
    """An SMTP server that accepts and discards every message, counting them. "aiosmtpd":
    the library the tests use (pure Python, it reads DATA line by line, so it is the
    slower end here); "fast": a minimal asyncio sink in the manner of Postfix's smtp-sink,
    which reads DATA in blocks, so the figure is the sender's rather than the sink's."""
    import asyncio

    if kind == "aiosmtpd":
        from aiosmtpd.controller import Controller

        class Counter:
            async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
                with count.get_lock():
                    count.value += 1
                return "250 OK"

        controller = Controller(Counter(), hostname="127.0.0.1", port=port)
        controller.start()
        ready.set()
        asyncio.run(asyncio.sleep(10**6))
        return

    class Sink(asyncio.Protocol):
        def connection_made(self, transport: Any) -> None:
            self.transport, self.buffer, self.in_data = transport, b"", False
            transport.write(b"220 sink ESMTP\r\n")

        def data_received(self, data: bytes) -> None:
            self.buffer += data
            while True:
                if self.in_data:
                    end = self.buffer.find(b"\r\n.\r\n")
                    if end < 0:
                        return
                    self.buffer, self.in_data = self.buffer[end + 5 :], False
                    with count.get_lock():
                        count.value += 1
                    self.transport.write(b"250 2.0.0 queued\r\n")
                    continue
                line, sep, rest = self.buffer.partition(b"\r\n")
                if not sep:
                    return
                self.buffer = rest
                verb = line[:4].upper()
                if verb in (b"EHLO", b"HELO"):
                    self.transport.write(b"250-sink\r\n250 8BITMIME\r\n")
                elif verb == b"DATA":
                    self.in_data = True
                    self.buffer = b"\r\n" + self.buffer  # so an empty body still ends
                    self.transport.write(b"354 go ahead\r\n")
                elif verb == b"QUIT":
                    self.transport.write(b"221 bye\r\n")
                    self.transport.close()
                    return
                else:  # MAIL, RCPT, RSET, NOOP
                    self.transport.write(b"250 2.0.0 ok\r\n")

    async def main() -> None:
        server = await asyncio.get_running_loop().create_server(Sink, "127.0.0.1", port)
        ready.set()
        await server.serve_forever()

    asyncio.run(main())


def receiver(port: int, ready: Any, queue: Any) -> None:
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            queue.put((self.path, time.monotonic()))
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args: object) -> None:
            pass

    ThreadingHTTPServer.request_queue_size = 1024  # the default 5 resets a burst
    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.daemon_threads = True
    ready.set()
    server.serve_forever()


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def bench_email(workdir: Path, n: int, sink_kind: str = "fast") -> None:
    port = free_port()
    ready, count = multiprocessing.Event(), multiprocessing.Value("i", 0)
    sink = multiprocessing.Process(
        target=smtp_sink, args=(port, ready, count, sink_kind), daemon=True
    )
    sink.start()
    ready.wait(30)
    archive = Archive(f"sqlite:///{workdir / f'email-{sink_kind}.db'}")
    archive.upgrade()
    import_files(archive, [DUMP])
    addresses = tuple(f"reader{i}@example.org" for i in range(n))
    sub = SubscriptionConfig(id="weekly", name="Weekly", email=addresses, backfill=True)
    smtp = SmtpConfig.model_validate(
        {"host": "127.0.0.1", "port": port, "security": "none", "from": "bot@example.org"}
    )
    config = Config(smtp=smtp, subscriptions=(sub,))
    start = time.perf_counter()
    summary = deliver_due(archive, config, "bench", now_period=True)
    elapsed = time.perf_counter() - start
    sink.terminate()
    print(
        f"e-mail ({sink_kind} sink): {summary.sent} digests (10 items each) queued, rendered "
        f"and sent in "
        f"{elapsed:.1f} s = {summary.sent / elapsed:.0f} messages/s; sink counted "
        f"{count.value}; failed {summary.failed}, dead {summary.dead}"
    )


def bench_chat(workdir: Path, posts: int, destinations: int) -> None:
    port = free_port()
    ready, queue = multiprocessing.Event(), multiprocessing.Queue()
    server = multiprocessing.Process(target=receiver, args=(port, ready, queue), daemon=True)
    server.start()
    ready.wait(30)
    archive = Archive(f"sqlite:///{workdir / 'chat.db'}")
    archive.upgrade()
    import_files(archive, [DUMP])
    subs = []
    for d in range(destinations):
        kind = KINDS[d % len(KINDS)]
        os.environ[f"BENCH_URL_{d}"] = f"http://127.0.0.1:{port}/{kind}/{d}"
        os.environ["BENCH_KEY"] = "k" * 20
        channel = ChannelConfig(kind=kind, url_env=f"BENCH_URL_{d}", secret_env="BENCH_KEY")  # type: ignore[arg-type]
        subs.append(SubscriptionConfig(id=f"s{d}", mode="each", channel=channel))
    config = Config(subscriptions=tuple(subs), worker=WorkerConfig(concurrency=20))
    # `each` mode: posts/destinations items per destination, one post each
    archive.subscription_states([s.id for s in subs], backfill={s.id: None for s in subs})
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    ids = [s.id for s in archive.items()][: posts // destinations]
    now = datetime.now(UTC)
    for sub in subs:
        assert sub.channel is not None
        archive.queue_period(sub.id, [sub.channel.kind], epoch, now, items=ids)
    start = time.perf_counter()
    summary = deliver_due(archive, config, "bench")
    elapsed = time.perf_counter() - start
    arrivals: dict[str, list[float]] = {}
    while not queue.empty() or sum(len(v) for v in arrivals.values()) < summary.sent:
        path, at = queue.get(timeout=10)
        arrivals.setdefault(path.split("?")[0], []).append(at)
    server.terminate()
    slack_gaps = [
        b - a
        for path, times in arrivals.items()
        if path.startswith("/slack/")
        for a, b in zip(sorted(times), sorted(times)[1:], strict=False)
    ]
    total = sum(len(v) for v in arrivals.values())
    print(
        f"chat: {summary.sent} deliveries to {destinations} destinations ({total} posts "
        f"received) in {elapsed:.1f} s = {total / elapsed:.0f} posts/s; failed "
        f"{summary.failed}, dead {summary.dead}; smallest gap between two posts to one Slack "
        f"webhook {min(slack_gaps):.3f} s (limit 1 s)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--emails", type=int, default=10_000)
    parser.add_argument("--posts", type=int, default=1000)
    parser.add_argument("--destinations", type=int, default=250)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        bench_chat(Path(tmp), args.posts, args.destinations)
        bench_email(Path(tmp), args.emails, "fast")
        bench_email(Path(tmp), args.emails, "aiosmtpd")


if __name__ == "__main__":
    main()
