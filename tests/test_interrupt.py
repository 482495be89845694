"""Ctrl-C, for real: SIGINT to the command's whole process group (as a terminal sends it)
while it waits on a server that stalls. What was claimed and not tried goes back to pending,
what may have left is recorded uncertain at once, leases are given back, and the command
ends with exit 130, "reportbot: interrupted", and no traceback from any process."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from aiosmtpd.controller import Controller

from bot import schema
from bot.archive import Archive
from bot.models import DeliveryState
from tests.feedserver import FeedServer, Reply
from tests.smtpsink import Sink, free_port

pytestmark = pytest.mark.slow  # real processes and real signals: `make test` runs them

WAIT = 60.0  # for the command to reach the stall (a loaded machine is slow to start Python)


class Stall:
    """Where a server holds a request: `arrived` once one is held, until `release`."""

    def __init__(self) -> None:
        self.arrived = threading.Event()
        self.release = threading.Event()


def _start(config: Path, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "bot", "--config", str(config), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own process group, which Ctrl-C reaches as a whole
    )


def _ctrl_c(proc: subprocess.Popen[str], stall: Stall) -> tuple[int, str]:
    """Ctrl-C once the server holds a request; the exit code and stderr."""
    try:
        assert stall.arrived.wait(WAIT), "the command never reached the server"
        os.killpg(proc.pid, signal.SIGINT)
        _, err = proc.communicate(timeout=WAIT)
    finally:
        stall.release.set()
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
    return proc.returncode, err


def _assert_interrupted(code: int, err: str) -> None:
    assert code == 130, err
    assert "Traceback" not in err and "KeyboardInterrupt" not in err, err
    assert err.rstrip().splitlines()[-1] == "reportbot: interrupted"


def _write(tmp_path: Path, url: str, body: str) -> Path:
    config = tmp_path / "rb.toml"
    config.write_text(f'[archive]\nurl = "{url}"\n{body}')
    return config


def _no_lease_left(archive: Archive) -> None:
    d = schema.deliveries
    with archive.engine.connect() as conn:
        leased = conn.execute(sa.select(d.c.id).where(d.c.lease_until.is_not(None))).all()
    assert leased == []


class _StallingSink(Sink):
    """Accepts the first message, holds the second after its data came."""

    def __init__(self, stall: Stall) -> None:
        super().__init__()
        self.stall = stall

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.received:
            self.stall.arrived.set()
            while not self.stall.release.is_set():
                await asyncio.sleep(0.05)
        return await super().handle_DATA(server, session, envelope)


@pytest.fixture
def stall() -> Stall:
    return Stall()


def test_ctrl_c_mid_email_records_the_held_message_uncertain_and_gives_the_rest_back(
    filled: Archive, stall: Stall, tmp_path: Path
) -> None:
    port = free_port()
    controller = Controller(_StallingSink(stall), hostname="127.0.0.1", port=port)
    controller.start()
    addresses = [f"r{n}@example.org" for n in range(5)]
    config = _write(
        tmp_path,
        filled.url,
        f'[smtp]\nhost = "127.0.0.1"\nport = {port}\nsecurity = "none"\nconnections = 1\n'
        'from = "bot@example.org"\n'
        f'[[subscriptions]]\nid = "weekly"\nbackfill = true\nemail = {addresses}\n',
    )
    try:
        code, err = _ctrl_c(_start(config, "digest", "send", "--now"), stall)
    finally:
        controller.stop()
    _assert_interrupted(code, err)
    rows = {d.recipient: d for d in filled.deliveries()}
    assert rows["r0@example.org"].state is DeliveryState.SENT
    held = rows["r1@example.org"]
    assert held.state is DeliveryState.UNKNOWN and held.uncertain
    assert "interrupted" in (held.last_error or "")
    for address in addresses[2:]:  # never tried: as they were before the claim
        assert rows[address].state is DeliveryState.PENDING
        assert rows[address].attempts == 0 and not rows[address].uncertain
    _no_lease_left(filled)


def test_ctrl_c_mid_post_records_it_uncertain_and_gives_the_rest_back(
    filled: Archive,
    receiver: FeedServer,
    stall: Stall,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def answer(headers: dict[str, str]) -> Reply:
        stall.arrived.set()
        stall.release.wait(WAIT)
        return Reply(200, b"ok")

    receiver.routes["/hook"] = answer
    config = _write(
        tmp_path,
        filled.url,
        '[[subscriptions]]\nid = "team"\nbackfill = true\nmode = "each"\n'
        'channel = { kind = "webhook", url_env = "HOOK", secret_env = "KEY" }\n',
    )
    monkeypatch.setenv("HOOK", receiver.url("/hook"))  # the child inherits them
    monkeypatch.setenv("KEY", "k" * 20)
    code, err = _ctrl_c(_start(config, "digest", "send"), stall)
    _assert_interrupted(code, err)
    rows = filled.deliveries()
    assert len(rows) == 10
    (posted,) = [d for d in rows if d.state is not DeliveryState.PENDING]
    assert posted.state is DeliveryState.UNKNOWN and posted.uncertain
    assert posted.key == receiver.posts[0].headers["x-reportbot-delivery"]
    assert all(d.attempts == 0 for d in rows if d is not posted)
    _no_lease_left(filled)


def _feed_config(tmp_path: Path, url: str, receiver: FeedServer, stall: Stall) -> Path:
    def answer(headers: dict[str, str]) -> Reply:
        stall.arrived.set()
        stall.release.wait(WAIT)
        return Reply(200, b"<rss/>")

    receiver.routes["/feed.xml"] = answer
    return _write(
        tmp_path,
        url,
        f'[[feeds]]\nid = "slow"\nurl = "{receiver.url("/feed.xml")}"\nallow_private = true\n',
    )


def _feed_leases(archive: Archive) -> list[tuple[Any, Any]]:
    f = schema.feeds
    with archive.engine.connect() as conn:
        return [tuple(r) for r in conn.execute(sa.select(f.c.lease_owner, f.c.lease_until))]


@pytest.mark.parametrize("command", ["poll", "run"])
def test_ctrl_c_mid_poll_gives_the_feed_back(
    command: str, archive: Archive, receiver: FeedServer, stall: Stall, tmp_path: Path
) -> None:
    """`poll` polls once; `run` is the worker, stopped by Ctrl-C in its first tick."""
    config = _feed_config(tmp_path, archive.url, receiver, stall)
    code, err = _ctrl_c(_start(config, command), stall)
    _assert_interrupted(code, err)
    assert command == "poll" or "worker stopped" in err
    assert _feed_leases(archive) == [(None, None)]


# The console script's start: Python is up and bot.cli imported (a Ctrl-C before that is
# Python's own start-up, which no program can make quiet), then "ready" and main().
_CONSOLE = "import sys, bot.cli; print('ready', flush=True); bot.cli.main()"


@pytest.mark.parametrize("after", [0.02, 0.05, 0.1, 0.2, 0.4])
def test_ctrl_c_while_starting_is_one_line(after: float, archive: Archive, tmp_path: Path) -> None:
    """Whenever it comes while the command loads and opens the archive: no traceback."""
    config = _write(tmp_path, archive.url, "")
    proc = subprocess.Popen(
        [sys.executable, "-c", _CONSOLE, "--config", str(config), "status"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    assert proc.stdout is not None and proc.stdout.readline() == "ready\n"
    try:
        proc.wait(timeout=after)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGINT)
    _, err = proc.communicate(timeout=WAIT)
    assert "Traceback" not in err and "KeyboardInterrupt" not in err, err
    if proc.returncode != 0:  # it had not finished when the Ctrl-C came
        _assert_interrupted(proc.returncode, err)


def test_the_console_script_imports_almost_nothing_before_main() -> None:
    """The console script runs `from bot.cli import main` before main() can catch a Ctrl-C:
    that import loads no command line library (click and the commands load inside main)."""
    proc = subprocess.run(
        [sys.executable, "-c", "import json, sys, bot.cli; print(json.dumps(sorted(sys.modules)))"],
        capture_output=True,
        text=True,
        check=True,
    )
    loaded = set(json.loads(proc.stdout))
    assert {"click", "bot.cli.root", "bot.logs"} & loaded == set()
