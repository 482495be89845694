"""A worker killed with SIGKILL after a message left and before its outcome was recorded:
the message is sent again once its lease expires (at most once more), with the same
idempotency key, and the row is marked uncertain so the possible duplicate is counted."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from bot.archive import Archive
from tests.feedserver import FeedServer, Reply
from tests.smtpsink import Sink, free_port

pytestmark = pytest.mark.slow  # long end to end: `make test` runs it, `make check` not

LEASE = 2.0


class Killer:
    """Kills the worker process the first time a message reaches it."""

    def __init__(self) -> None:
        self.pid: int | None = None
        self.killed = False

    def strike(self) -> None:
        if not self.killed and self.pid is not None:
            self.killed = True
            os.kill(self.pid, signal.SIGKILL)


def _send(config: Path, killer: Killer, env: dict[str, str]) -> int:
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot", "--config", str(config), "digest", "send", "--now"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **env},
    )
    killer.pid = proc.pid
    try:
        proc.communicate(timeout=60)
    finally:
        proc.kill()
    return proc.returncode


def _write(tmp_path: Path, url: str, body: str) -> Path:
    config = tmp_path / "rb.toml"
    config.write_text(f'[archive]\nurl = "{url}"\n[worker]\nlease = "{LEASE:g}s"\n{body}')
    return config


def test_webhook_resent_once_with_the_same_key(
    filled: Archive, receiver: FeedServer, tmp_path: Path
) -> None:
    killer = Killer()

    def answer(headers: dict[str, str]) -> Reply:
        killer.strike()  # the worker dies while waiting for this answer
        return Reply(200, b"ok")

    receiver.routes["/hook"] = answer
    config = _write(
        tmp_path,
        filled.url,
        '[[subscriptions]]\nid = "team"\nbackfill = true\n'
        'channel = { kind = "webhook", url_env = "HOOK", secret_env = "KEY" }\n',
    )
    env = {"HOOK": receiver.url("/hook"), "KEY": "k" * 20}
    assert _send(config, killer, env) == -signal.SIGKILL
    (row,) = filled.deliveries("sending")  # sent, but not recorded
    time.sleep(LEASE + 0.5)
    assert _send(config, killer, env) == 0
    assert _send(config, killer, env) == 0  # and not a third time
    keys = [p.headers["x-reportbot-delivery"] for p in receiver.posts]
    assert keys == [row.key, row.key]
    (sent,) = filled.deliveries("sent")
    assert sent.id == row.id and sent.uncertain


def test_email_resent_once_with_the_same_message_id(filled: Archive, tmp_path: Path) -> None:
    killer = Killer()

    class KillingSink(Sink):
        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
            reply = await super().handle_DATA(server, session, envelope)
            killer.strike()
            return reply

    handler = KillingSink()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        config = _write(
            tmp_path,
            filled.url,
            f'[smtp]\nhost = "127.0.0.1"\nport = {port}\nsecurity = "none"\n'
            'from = "bot@example.org"\n'
            '[[subscriptions]]\nid = "weekly"\nbackfill = true\nemail = ["a@example.org"]\n',
        )
        assert _send(config, killer, {}) == -signal.SIGKILL
        time.sleep(LEASE + 0.5)
        assert _send(config, killer, {}) == 0
        assert _send(config, killer, {}) == 0
    finally:
        controller.stop()
    ids = [m["Message-ID"] for m in handler.received]
    assert len(ids) == 2 and ids[0] == ids[1]
    (sent,) = filled.deliveries("sent")
    assert sent.uncertain


def test_outcomes_are_recorded_during_a_batch_so_a_kill_resends_only_the_last(
    filled: Archive, receiver: FeedServer, tmp_path: Path
) -> None:
    killer = Killer()
    answered = []

    def answer(headers: dict[str, str]) -> Reply:
        answered.append(headers["x-reportbot-delivery"])
        if len(answered) == 8:
            killer.strike()  # a second and more into the batch: the first ones are recorded
        return Reply(200, b"ok", delay=0.25)

    receiver.routes["/hook"] = answer
    config = _write(
        tmp_path,
        filled.url,
        '[[subscriptions]]\nid = "team"\nbackfill = true\nmode = "each"\n'
        'channel = { kind = "webhook", url_env = "HOOK", secret_env = "KEY" }\n',
    )
    env = {"HOOK": receiver.url("/hook"), "KEY": "k" * 20}
    assert _send(config, killer, env) == -signal.SIGKILL
    recorded = {d.key for d in filled.deliveries("sent")}
    assert 1 <= len(recorded) < 8  # flushed at least once a second, not all at the end
    time.sleep(LEASE + 0.5)
    assert _send(config, killer, env) == 0
    posts = Counter(p.headers["x-reportbot-delivery"] for p in receiver.posts)
    assert set(posts) == {d.key for d in filled.deliveries()} and len(posts) == 10
    assert all(posts[key] == 1 for key in recorded)  # recorded before the kill: never resent
    uncertain = {d.key for d in filled.deliveries() if d.uncertain}
    assert {key for key, n in posts.items() if n > 1} <= uncertain
