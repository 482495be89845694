"""Serving: `reportbot web`'s arguments, and the site in a thread beside the worker."""

from __future__ import annotations

import socket
import urllib.request
from pathlib import Path

import pytest

from bot.archive import Archive
from bot.cli import run
from bot.config import Config
from bot.errors import WebError
from bot.webapp import create_app
from bot.webapp.serve import Background
from tests.smtpsink import free_port


def test_web_refuses_a_listen_address_that_is_not_host_port(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = run(["--database", f"sqlite:///{tmp_path / 'a.db'}", "web", "--listen", "nowhere"])
    assert code == 2
    err = capsys.readouterr().err
    assert "'nowhere' is not host:port" in err and "Traceback" not in err


def test_web_without_its_key_says_which_variable(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("REPORTBOT_WEB_SECRET", raising=False)
    config = tmp_path / "rb.toml"
    config.write_text('[web]\npublic_url = "https://bot.example.org"\n')
    assert run(["--config", str(config), "web"]) == 1
    assert "$REPORTBOT_WEB_SECRET must hold a key" in capsys.readouterr().err


@pytest.mark.parametrize("host", ["127.0.0.1", "name.invalid"])
def test_web_on_an_address_it_cannot_listen_on_is_one_clear_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], host: str
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        db = f"sqlite:///{tmp_path / 'a.db'}"
        assert run(["--database", db, "web", "--listen", f"{host}:{port}"]) == 1
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert line.startswith(f"reportbot: error: web: could not listen on {host}:{port}: ")


def test_background_serves_the_site_and_stops(filled: Archive) -> None:
    listen = f"127.0.0.1:{free_port()}"
    server = Background(create_app(Config(), filled.url), listen).start()
    try:
        with urllib.request.urlopen(f"http://{listen}/", timeout=10) as response:
            assert b"Latest items" in response.read()
    finally:
        server.shutdown()
    assert not server.thread.is_alive()


def test_background_on_a_busy_port_is_one_clear_error(filled: Archive) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(WebError, match=f"could not listen on 127.0.0.1:{port}"):
            Background(create_app(Config(), filled.url), f"127.0.0.1:{port}").start()


@pytest.mark.slow
def test_run_serves_the_site_when_web_is_set_and_stops_on_sigterm(tmp_path: Path) -> None:
    import os
    import signal
    import subprocess
    import sys
    import time

    from bot.pipeline import import_files
    from tests.conftest import DUMP
    from tests.webapp.conftest import SECRET

    url = f"sqlite:///{tmp_path / 'a.db'}"
    archive = Archive(url)
    archive.upgrade()
    import_files(archive, [DUMP])
    archive.close()
    listen = f"127.0.0.1:{free_port()}"
    cfg = tmp_path / "rb.toml"
    cfg.write_text(
        f'[archive]\nurl = "{url}"\n[web]\npublic_url = "https://bot.example.org"\n'
        f'listen = "{listen}"\n'
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot", "--config", str(cfg), "run", "--tick", "1"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env={**os.environ, "REPORTBOT_WEB_SECRET": SECRET},
    )
    try:
        deadline, page = time.monotonic() + 60, b""
        while time.monotonic() < deadline and not page:
            try:
                with urllib.request.urlopen(f"http://{listen}/item/1", timeout=2) as response:
                    page = response.read()
            except OSError:
                time.sleep(0.2)
        assert b"<h1>Racial bias greatly affects child protection practice" in page
        proc.send_signal(signal.SIGTERM)
        start = time.monotonic()
        proc.wait(timeout=10)
        assert time.monotonic() - start < 10 and proc.returncode == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
