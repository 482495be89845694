"""The worker's commands: config check, feeds list/add/remove/test, poll, status."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.cli import run
from tests.conftest import ROOT
from tests.feedserver import FeedServer, Reply, rss


@pytest.fixture
def server() -> Iterator[FeedServer]:
    with FeedServer() as s:
        s.routes["/feed"] = lambda h: Reply(200, rss([("g1", "One", "71% of reviews")], "Panel"))
        yield s


def _cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = run(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_config_check_lists_every_problem(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = tmp_path / "rb.toml"
    cfg.write_text(
        '[worker]\nconcurency = 5\n[[feeds]]\nid = "a"\nurl = "ftp://x"\n'
        '[[feeds]]\nid = "a"\nurl = "https://x.org/f"\ninterval = "10s"\n'
    )
    code, _, err = _cli(capsys, "--config", str(cfg), "config", "check")
    assert code == 2
    lines = err.splitlines()
    assert (
        f"{cfg}: worker.concurency: unknown key (check its spelling against docs/CONFIG.md)"
        in lines
    )
    assert f"{cfg}: feeds[0].url: 'ftp://x' is not an http(s) URL" in lines
    assert f"{cfg}: feeds[1].interval: must be at least 1m (polite polling)" in lines
    assert f"{cfg}: feeds[1].id: 'a' is used by another feed" in lines


def test_config_check_ok_on_the_example(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _cli(
        capsys, "--config", str(ROOT / "config/reportbot.example.toml"), "config", "check"
    )
    assert code == 0 and out.startswith("config OK")


def test_feeds_add_keeps_comments_and_remove(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = tmp_path / "rb.toml"
    cfg.write_text('# my notes stay\n[archive]\nurl = "sqlite:///x.db"  # and this one\n')
    code, out, _ = _cli(
        capsys,
        "--config",
        str(cfg),
        "feeds",
        "add",
        "--no-test",
        "--id",
        "cspr",
        "--tag",
        "race",
        "https://www.communitycare.co.uk/tag/child-safeguarding-practice-review-panel/feed/",
    )
    assert code == 0 and "added feed cspr" in out
    text = cfg.read_text()
    assert "# my notes stay" in text and "# and this one" in text and 'id = "cspr"' in text
    _, out, _ = _cli(capsys, "--config", str(cfg), "feeds", "list")
    assert "cspr" in out and "race" in out
    code, _, err = _cli(
        capsys, "--config", str(cfg), "feeds", "add", "--no-test", "--id", "cspr", "https://y.org/f"
    )
    assert code == 1 and "used by another feed" in err and text == cfg.read_text()
    code, out, _ = _cli(capsys, "--config", str(cfg), "feeds", "remove", "cspr")
    assert (
        code == 0 and 'id = "cspr"' not in cfg.read_text() and "# my notes stay" in cfg.read_text()
    )


def test_feeds_add_derives_an_id(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = tmp_path / "rb.toml"
    _cli(
        capsys,
        "--config",
        str(cfg),
        "feeds",
        "add",
        "--no-test",
        "https://www.communitycare.co.uk/tag/child-safeguarding-practice-review-panel/feed/",
    )
    assert 'id = "child-safeguarding-practice-review-panel"' in cfg.read_text()


def test_feeds_test_shows_title_and_count(
    server: FeedServer, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = _cli(capsys, "feeds", "test", "--allow-private", server.url("/feed"))
    assert code == 0 and out.strip() == "Panel: 1 items (rss20)"


def test_feeds_test_refuses_private_by_default(
    server: FeedServer, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = _cli(capsys, "feeds", "test", server.url("/feed"))
    assert code == 1 and "loopback" in err and err.count("\n") == 1


@pytest.mark.slow
def test_poll_and_status(
    server: FeedServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = tmp_path / "rb.toml"
    cfg.write_text(
        f'[archive]\nurl = "sqlite:///{tmp_path / "a.db"}"\n'
        f'[[feeds]]\nid = "ok"\nurl = "{server.url("/feed")}"\nallow_private = true\n'
        f'[[feeds]]\nid = "gone"\nurl = "{server.url("/gone")}"\nallow_private = true\n'
    )
    code, out, err = _cli(capsys, "--config", str(cfg), "poll")
    assert code == 0
    assert out.strip().endswith(
        "polled 2 feeds: 0 not modified, 1 failed, 1 new items, 0 updated items"
    )
    assert "gone: failed: HTTP 404" in err
    code, out, _ = _cli(capsys, "--config", str(cfg), "status")
    assert code == 0 and "ok" in out and "404" in out
    assert "no worker has ticked in the last day" in out


@pytest.mark.slow
def test_status_reports_a_refused_permanent_redirect(
    server: FeedServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    server.routes["/old"] = lambda h: Reply(301, headers={"Location": "/gone"})
    cfg = tmp_path / "rb.toml"
    cfg.write_text(
        f'[archive]\nurl = "sqlite:///{tmp_path / "a.db"}"\n'
        f'[[feeds]]\nid = "moved"\nurl = "{server.url("/old")}"\nallow_private = true\n'
    )
    assert _cli(capsys, "--config", str(cfg), "poll")[0] == 0
    code, out, _ = _cli(capsys, "--config", str(cfg), "status")
    assert code == 0
    assert (
        f"moved: redirects permanently to {server.url('/gone')}, which did not answer with a "
        f"feed; still polling {server.url('/old')}"
    ) in out.splitlines()


@pytest.mark.slow
def test_status_reports_an_adopted_permanent_redirect(
    server: FeedServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    server.routes["/old"] = lambda h: Reply(301, headers={"Location": "/feed"})
    cfg = tmp_path / "rb.toml"
    cfg.write_text(
        f'[archive]\nurl = "sqlite:///{tmp_path / "a.db"}"\n'
        f'[[feeds]]\nid = "moved"\nurl = "{server.url("/old")}"\nallow_private = true\n'
    )
    for _ in range(3):
        assert _cli(capsys, "--config", str(cfg), "poll", "--feed", "moved")[0] == 0
    code, out, _ = _cli(capsys, "--config", str(cfg), "status")
    assert code == 0
    assert (
        f"moved: moved permanently to {server.url('/feed')}; polled there (update the "
        f"config's url from {server.url('/old')})"
    ) in out.splitlines()


def test_status_lists_workers_and_the_outbox(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from datetime import UTC, datetime

    from bot.archive import Archive

    url = f"sqlite:///{tmp_path / 'a.db'}"
    archive = Archive(url)
    archive.upgrade()
    archive.heartbeat("box:42", "9.9", datetime.now(UTC))
    archive.subscription_states(["weekly"])
    archive.queue_period("weekly", ["a@example.org"], datetime.now(UTC), datetime.now(UTC))
    code, out, _ = _cli(capsys, "--database", url, "status")
    assert code == 0 and "box:42" in out and "9.9" in out and " s ago" in out
    assert "outbox: 1 pending" in out


def test_poll_unknown_feed_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = _cli(
        capsys, "--database", f"sqlite:///{tmp_path / 'a.db'}", "poll", "--feed", "nope"
    )
    assert code == 1 and err.startswith("reportbot: error: no feed with id 'nope'")


@pytest.mark.slow
def test_run_polls_then_stops_on_sigterm_within_10s(server: FeedServer, tmp_path: Path) -> None:
    import os
    import signal
    import subprocess
    import sys
    import time

    from bot.archive import Archive
    from bot.errors import ArchiveError
    from tests.smtpsink import free_port

    db = tmp_path / "a.db"
    cfg = tmp_path / "rb.toml"
    metrics_port = free_port()
    cfg.write_text(
        f'[archive]\nurl = "sqlite:///{db}"\n[metrics]\nlisten = "127.0.0.1:{metrics_port}"\n'
        f'[[feeds]]\nid = "ok"\nurl = "{server.url("/feed")}"\nallow_private = true\n'
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot", "--config", str(cfg), "run", "--tick", "1"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ},
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if db.exists() and Archive(f"sqlite:///{db}").counts().get("items"):
                    break
            except ArchiveError:
                pass  # the worker has created the file but not yet migrated it
            time.sleep(0.2)
        assert Archive(f"sqlite:///{db}").counts()["items"] == 1
        while time.monotonic() < deadline and Archive(f"sqlite:///{db}").last_tick() is None:
            time.sleep(0.2)  # the tick's heartbeat comes after its poll and deliveries
        assert run(["--config", str(cfg), "health"]) == 0
        scraped = _scrape(f"http://127.0.0.1:{metrics_port}/metrics")
        assert scraped['reportbot_polls_total{status="new"}'] == 1.0
        assert scraped['reportbot_items_archived_total{kind="new"}'] == 1.0
        assert scraped["reportbot_fetch_seconds_count"] >= 1.0
        assert scraped["reportbot_feeds_unhealthy"] == 0.0
        assert scraped["reportbot_last_tick_timestamp_seconds"] > time.time() - 60
        proc.send_signal(signal.SIGTERM)
        start = time.monotonic()
        out, err = proc.communicate(timeout=10)
        assert time.monotonic() - start < 10
    finally:
        proc.kill()
    assert proc.returncode == 0, err
    assert "worker stopped" in err and "Traceback" not in err
    assert 'msg="poll cycle" polled=1' in err and out == ""  # a worker writes logs only


def test_example_config_is_valid_with_every_example_uncommented(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import re

    text = (ROOT / "config" / "reportbot.example.toml").read_text(encoding="utf-8")
    uncommented = re.sub(r"^# (\[|[a-z_]+ = )", r"\1", text, flags=re.MULTILINE)
    assert uncommented.count("[[subscriptions]]") == 2 and "[web]" in uncommented
    path = tmp_path / "all.toml"
    path.write_text(uncommented, encoding="utf-8")
    code, out, err = _cli(capsys, "--config", str(path), "config", "check", "--no-env")
    assert (code, err) == (0, "") and "config OK" in out


def _scrape(url: str) -> dict[str, float]:
    """Prometheus text format → {"name{labels}": value}."""
    import urllib.request

    with urllib.request.urlopen(url, timeout=10) as response:
        text = response.read().decode()
    values: dict[str, float] = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            values[name] = float(value)
    return values


def _feeds_config(path: Path, db: Path, feeds: dict[str, str]) -> Path:
    text = f'[archive]\nurl = "sqlite:///{db}"\n'
    for key, url in feeds.items():
        text += f'[[feeds]]\nid = "{key}"\nurl = "{url}"\nallow_private = true\n'
    path.write_text(text)
    return path


def test_poll_help_shows_all_with_an_example(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _cli(capsys, "poll", "--help")
    assert code == 0 and "--all" in out and "reportbot poll --all" in out


@pytest.mark.slow
def test_poll_all_polls_feeds_that_are_not_due(
    server: FeedServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    server.routes["/two"] = lambda h: Reply(200, rss([("g2", "Two", "12 reports")], "Two"))
    cfg = _feeds_config(
        tmp_path / "rb.toml",
        tmp_path / "a.db",
        {"one": server.url("/feed"), "two": server.url("/two")},
    )
    assert _cli(capsys, "--config", str(cfg), "poll")[0] == 0
    asked = len(server.requests)
    code, out, _ = _cli(capsys, "--config", str(cfg), "poll")  # both polled: none is due
    assert code == 0 and "polled 0 feeds" in out
    assert len(server.requests) == asked
    code, out, _ = _cli(capsys, "--config", str(cfg), "poll", "--all")
    assert code == 0 and "polled 2 feeds" in out
    assert sorted(p for p, _ in server.requests[asked:]) == ["/feed", "/two"]


def test_poll_all_with_feed_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = _cli(
        capsys, "--database", f"sqlite:///{tmp_path / 'a.db'}", "poll", "--all", "--feed", "x"
    )
    assert code == 2 and "--all and --feed exclude each other" in err and "Traceback" not in err


@pytest.mark.slow
def test_status_lists_configured_feeds_and_all_shows_removed(
    server: FeedServer,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("COLUMNS", "200")
    server.routes["/two"] = lambda h: Reply(200, rss([("g2", "Two", "12 reports")], "Two"))
    db = tmp_path / "a.db"
    both = {"keep": server.url("/feed"), "dropme": server.url("/two")}
    cfg = _feeds_config(tmp_path / "rb.toml", db, both)
    assert _cli(capsys, "--config", str(cfg), "poll")[0] == 0
    _feeds_config(cfg, db, {"keep": both["keep"]})
    code, out, _ = _cli(capsys, "--config", str(cfg), "status")
    assert code == 0 and "keep" in out and "dropme" not in out
    code, out, _ = _cli(capsys, "--config", str(cfg), "status", "--all")
    (line,) = [x for x in out.splitlines() if "dropme" in x]
    assert "(removed)" in line and "not polled" in line


def test_status_shows_an_imported_only_feed_as_not_polled(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "200")
    db = tmp_path / "a.db"
    saved = tmp_path / "saved.xml"
    saved.write_bytes(rss([("g1", "One", "71% of reviews")], "Saved"))
    cfg = _feeds_config(tmp_path / "rb.toml", db, {})
    assert _cli(capsys, "--config", str(cfg), "import", "--feed", "saved", str(saved))[0] == 0
    code, out, _ = _cli(capsys, "--config", str(cfg), "status")
    assert code == 0 and "saved" not in out
    code, out, _ = _cli(capsys, "--config", str(cfg), "status", "--all")
    (line,) = [x for x in out.splitlines() if "saved" in x]
    assert "(imported)" in line and "not polled" in line and "now" not in line


@pytest.mark.slow
@pytest.mark.parametrize("columns", ["80", "400"])
def test_status_shows_the_whole_error(
    server: FeedServer,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    columns: str,
) -> None:
    monkeypatch.setenv("COLUMNS", columns)
    path = "/" + "-".join(f"segment{i}" for i in range(20)) + "/end-of-the-url"
    cfg = _feeds_config(tmp_path / "rb.toml", tmp_path / "a.db", {"lost": server.url(path)})
    assert _cli(capsys, "--config", str(cfg), "poll")[0] == 0
    code, out, _ = _cli(capsys, "--config", str(cfg), "status")
    error = f"HTTP 404 Not Found from {server.url(path)}"
    assert code == 0 and len(error) > 150
    if columns == "400":
        assert error in out  # one line when the terminal is wide enough
    else:
        # wrapped (folded) in its cell, never cut: every piece is there, in order
        cells = [x.split("│")[5].strip() for x in out.splitlines() if x.count("│") == 8]
        assert error.replace(" ", "") in "".join(cells).replace(" ", "")


def test_status_shows_old_workers_as_gone_and_drops_them_after_a_day(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from datetime import UTC, datetime, timedelta

    import sqlalchemy as sa

    from bot import schema
    from bot.archive import Archive

    monkeypatch.setenv("COLUMNS", "200")
    url = f"sqlite:///{tmp_path / 'a.db'}"
    archive = Archive(url)
    archive.upgrade()
    now = datetime.now(UTC)
    archive.heartbeat("box:1", "0.1", now, config_version="c0ffee123456", config_loaded_at=now)
    engine = sa.create_engine(url)
    with engine.begin() as conn:  # workers whose last tick was long ago
        for name, age in (("box:2", timedelta(hours=3)), ("box:3", timedelta(days=2))):
            at = now - age
            conn.execute(
                schema.workers.insert().values(
                    name=name, version="0.1", started_at=at, last_tick_at=at
                )
            )
    engine.dispose()
    code, out, _ = _cli(capsys, "--database", url, "status")
    lines = out.splitlines()
    (running,) = [x for x in lines if "box:1" in x]
    (gone,) = [x for x in lines if "box:2" in x]
    assert code == 0 and "gone" not in running and "c0ffee123456" in running
    assert "gone (last " in gone
    assert "box:3" not in out


@pytest.mark.slow
def test_run_reloads_its_config_and_refuses_a_broken_one(
    server: FeedServer, tmp_path: Path
) -> None:
    import hashlib
    import os
    import signal
    import subprocess
    import sys
    import time

    from bot.archive import Archive
    from bot.errors import ArchiveError

    server.routes["/two"] = lambda h: Reply(200, rss([("g2", "Two", "12 reports")], "Two"))
    server.routes["/three"] = lambda h: Reply(200, rss([("g3", "Three", "3 reviews")], "3"))
    db = tmp_path / "a.db"
    cfg = _feeds_config(tmp_path / "rb.toml", db, {"one": server.url("/feed")})
    log_path = tmp_path / "worker.log"

    def version() -> str:
        return hashlib.sha256(cfg.read_bytes()).hexdigest()[:12]

    def live() -> list[str | None]:
        try:
            return [w["config_version"] for w in Archive(f"sqlite:///{db}").workers()]
        except ArchiveError:
            return []  # the worker has created the file but not yet migrated it

    def wait_for(what: str, ok: object) -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if callable(ok) and ok():
                return
            time.sleep(0.2)
        raise AssertionError(f"waited 60 s for {what}; log:\n{log_path.read_text()}")

    with log_path.open("w") as log_file:
        proc = subprocess.Popen(
            [sys.executable, "-m", "bot", "--config", str(cfg), "run", "--tick", "1"],
            stdout=subprocess.DEVNULL,
            stderr=log_file,
            env={**os.environ},
        )
    try:
        first = version()
        wait_for("the first heartbeat", lambda: live() == [first])
        assert [p for p, _ in server.requests] == ["/feed"]
        # `feeds add` while the worker runs: polled at a next tick, without a restart
        assert run(["--config", str(cfg), "feeds", "add", "--id", "two", "--allow-private",
                    "--no-test", server.url("/two")]) == 0  # fmt: skip
        second = version()
        wait_for("the added feed's poll", lambda: "/two" in [p for p, _ in server.requests])
        wait_for("the new version in the heartbeat", lambda: live() == [second])
        # a broken config (one bad url beside a good new feed) is refused as a whole
        text = cfg.read_text()
        cfg.write_text(
            text + f'[[feeds]]\nid = "three"\nurl = "{server.url("/three")}"\n'
            'allow_private = true\n[[feeds]]\nid = "bad"\nurl = "not a url"\n'
        )
        wait_for("the refusal", lambda: "config refused" in log_path.read_text())
        ticks = Archive(f"sqlite:///{db}").last_tick()
        wait_for("two more ticks", lambda: (Archive(f"sqlite:///{db}").last_tick() or 0) > ticks)
        time.sleep(2)
        assert live() == [second]  # the old config is still in force
        assert "/three" not in [p for p, _ in server.requests]
        proc.send_signal(signal.SIGHUP)  # asked again: refused again, in one more line
        wait_for("the second refusal", lambda: log_path.read_text().count("config refused") == 2)
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=10)
    finally:
        proc.kill()
    err = log_path.read_text()
    assert proc.returncode == 0, err
    refused = [line for line in err.splitlines() if "config refused" in line]
    assert len(refused) == 2 and all("feeds[3].url" in line for line in refused), err
    assert "Traceback" not in err
    assert err.count('msg="config reloaded"') == 1


def test_status_lists_a_configured_feed_before_its_first_poll(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "200")
    cfg = _feeds_config(tmp_path / "rb.toml", tmp_path / "a.db", {"fresh": "https://example.org/f"})
    code, out, _ = _cli(capsys, "--config", str(cfg), "status")
    (line,) = [x for x in out.splitlines() if "fresh" in x]
    assert code == 0 and "never" in line and "now" in line


def test_status_says_when_every_stored_feed_is_out_of_the_config(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    saved = tmp_path / "saved.xml"
    saved.write_bytes(rss([("g1", "One", "71% of reviews")], "Saved"))
    cfg = _feeds_config(tmp_path / "rb.toml", tmp_path / "a.db", {})
    assert _cli(capsys, "--config", str(cfg), "import", "--feed", "saved", str(saved))[0] == 0
    code, out, _ = _cli(capsys, "--config", str(cfg), "status")
    assert code == 0 and "no feeds configured" in out
    assert "(1 not in the config: `reportbot status --all`)" in out
