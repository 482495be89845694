"""`feeds add` (test fetch, autodiscovery, private addresses), `feeds import` / `export` OPML."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import tomlkit

from bot.cli import run
from tests.conftest import ROOT
from tests.feedserver import FeedServer, Reply, rss

EXAMPLE = ROOT / "config" / "reportbot.example.toml"


def _page(*links: str) -> bytes:
    heads = "".join(
        f'<link rel="alternate" type="application/rss+xml" title="{t}" href="{h}">'
        for h, t in (link.split("|") for link in links)
    )
    return f"<!doctype html><html><head>{heads}</head><body>news</body></html>".encode()


@pytest.fixture
def server() -> Iterator[FeedServer]:
    with FeedServer() as s:
        s.routes["/feed/"] = lambda h: Reply(200, rss([("g1", "One", "71%")], "Panel"))
        s.routes["/reviews/"] = lambda h: Reply(200, rss([("g2", "Two", "5%")], "Reviews"))
        s.routes["/one"] = lambda h: Reply(
            200, _page("/feed/|All news"), {"Content-Type": "text/html"}
        )
        s.routes["/two"] = lambda h: Reply(
            200, _page("/feed/|All news", "/reviews/|Reviews"), {"Content-Type": "text/html"}
        )
        s.routes["/none"] = lambda h: Reply(200, _page(), {"Content-Type": "text/html"})
        yield s


@pytest.fixture
def cfg(tmp_path: Path) -> Path:
    path = tmp_path / "rb.toml"
    path.write_text(EXAMPLE.read_text(encoding="utf-8"), encoding="utf-8")
    return path


def _cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = run(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def _feeds(cfg: Path) -> list[dict[str, object]]:
    return list(tomlkit.parse(cfg.read_text(encoding="utf-8")).unwrap().get("feeds", []))


def test_add_follows_a_pages_single_feed(
    server: FeedServer, cfg: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = _cli(
        capsys, "--config", str(cfg), "feeds", "add", "--allow-private", server.url("/one")
    )
    assert code == 0 and "(Panel: 1 items)" in out
    assert _feeds(cfg)[-1]["url"] == server.url("/feed/")


def test_add_lists_several_feeds_and_asks_for_one(
    server: FeedServer, cfg: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = cfg.read_text(encoding="utf-8")
    code, out, err = _cli(
        capsys, "--config", str(cfg), "feeds", "add", "--allow-private", server.url("/two")
    )
    assert code == 2 and "choose one with --pick N" in err
    assert f"1. {server.url('/feed/')}  All news" in out
    assert f"2. {server.url('/reviews/')}  Reviews" in out
    assert cfg.read_text(encoding="utf-8") == before


def test_add_with_pick_takes_that_feed(
    server: FeedServer, cfg: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = _cli(
        capsys, "--config", str(cfg), "feeds", "add", "--allow-private", "--pick", "2",
        server.url("/two"),
    )
    assert code == 0 and "(Reviews: 1 items)" in out
    assert _feeds(cfg)[-1]["url"] == server.url("/reviews/")


def test_add_of_a_page_without_a_feed_says_so(
    server: FeedServer, cfg: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = _cli(
        capsys, "--config", str(cfg), "feeds", "add", "--allow-private", server.url("/none")
    )
    assert code == 1 and "announces no feed" in err and err.count("\n") == 1


def test_add_refuses_a_loopback_feed_without_allow_private(
    server: FeedServer, cfg: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = cfg.read_text(encoding="utf-8")
    code, _, err = _cli(capsys, "--config", str(cfg), "feeds", "add", server.url("/feed/"))
    assert code == 1 and "loopback" in err and "allow_private" in err
    assert cfg.read_text(encoding="utf-8") == before


def test_add_without_test_still_refuses_a_literal_private_address(
    cfg: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = _cli(
        capsys, "--config", str(cfg), "feeds", "add", "--no-test", "http://10.1.2.3/feed"
    )
    assert code == 1 and "10.1.2.3 is a private address" in err and "--allow-private" in err


def test_add_refuses_a_url_already_configured(
    cfg: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = "https://WWW.communitycare.co.uk/tag/child-safeguarding-practice-review-panel/feed"
    code, _, err = _cli(capsys, "--config", str(cfg), "feeds", "add", "--no-test", url)
    assert code == 1 and "already configured" in err


def test_remove_last_then_add_works_and_keeps_comments(
    cfg: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    comments = [ln for ln in cfg.read_text().splitlines() if ln.startswith("#")]
    assert _cli(capsys, "--config", str(cfg), "feeds", "remove", "cspr")[0] == 0
    code, _, err = _cli(
        capsys, "--config", str(cfg), "feeds", "add", "--no-test", "https://x.example/feed/"
    )
    assert code == 0, err
    assert [ln for ln in cfg.read_text().splitlines() if ln.startswith("#")] == comments
    assert _cli(capsys, "--config", str(cfg), "config", "check")[0] == 0


OPML = """<?xml version="1.0"?>
<opml version="2.0"><body><outline text="Safeguarding">
<outline type="rss" text="Panel" xmlUrl="https://www.communitycare.co.uk/tag/child-safeguarding-practice-review-panel/feed/"/>
<outline type="rss" text="Courts" xmlUrl="https://courts.example/feed/" category="/family"/>
<outline type="rss" text="Courts again" xmlUrl="https://courts.example/feed"/>
</outline></body></opml>"""


def _import(
    capsys: pytest.CaptureFixture[str], cfg: Path, opml_text: str, *flags: str
) -> tuple[int, str, str]:
    """`feeds import` of an OPML file holding `opml_text`, beside the config."""
    source = cfg.with_name("list.opml")
    source.write_text(opml_text, encoding="utf-8")
    return _cli(capsys, "--config", str(cfg), "feeds", "import", *flags, str(source))


def test_import_opml_adds_new_feeds_with_tags_and_counts_duplicates(
    cfg: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = _import(capsys, cfg, OPML)
    assert code == 0 and "imported 1 feeds" in out and "skipped 2 already configured" in out
    added = _feeds(cfg)[-1]
    assert added == {
        "id": "courts-example",
        "url": "https://courts.example/feed/",
        "title": "Courts",
        "tags": ["safeguarding", "family"],
    }


PRIVATE_OPML = """<?xml version="1.0"?>
<opml version="2.0"><body>
<outline type="rss" text="Loopback" xmlUrl="http://127.0.0.1:8080/feed/"/>
<outline type="rss" text="Courts" xmlUrl="https://courts.example/feed/"/>
<outline type="rss" text="Intranet" xmlUrl="http://10.1.2.3/news.xml"/>
<outline type="rss" text="Local" xmlUrl="http://localhost/rss"/>
</body></opml>"""


def test_import_refuses_private_addresses_and_imports_the_rest(
    cfg: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = _import(capsys, cfg, PRIVATE_OPML)
    assert code != 0 and "imported 1 feeds" in out
    for host in ("127.0.0.1", "10.1.2.3", "localhost"):
        assert f"refused {host}: " in err
    assert "refused 3 feeds" in err and "--allow-private" in err
    urls = [f["url"] for f in _feeds(cfg)]
    assert "https://courts.example/feed/" in urls
    assert not any("127.0.0.1" in u or "10.1.2.3" in u or "localhost" in u for u in urls)


def test_import_allow_private_imports_private_addresses(
    cfg: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = _import(capsys, cfg, PRIVATE_OPML, "--allow-private")
    assert code == 0 and "imported 4 feeds" in out, err
    loopback = next(f for f in _feeds(cfg) if "127.0.0.1" in f["url"])
    assert loopback["allow_private"] is True
    assert _cli(capsys, "--config", str(cfg), "config", "check", "--no-env")[0] == 0


def test_import_refuses_a_hostile_opml_with_one_line(
    cfg: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "bomb.opml"
    source.write_text(
        '<!DOCTYPE opml [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;">]>'
        "<opml><body><outline text='&b;' xmlUrl='https://x.example/'/></body></opml>"
    )
    before = cfg.read_text()
    code, _, err = _cli(capsys, "--config", str(cfg), "feeds", "import", str(source))
    assert code == 1 and "refused for safety" in err and err.count("\n") == 1
    assert cfg.read_text() == before


def test_export_opml_lists_the_configured_feeds(
    cfg: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out_file = tmp_path / "out.opml"
    code, out, _ = _cli(
        capsys, "--config", str(cfg), "--database", f"sqlite:///{tmp_path / 'a.db'}",
        "feeds", "export", "--out", str(out_file),
    )
    assert code == 0 and "wrote 1 feeds" in out
    text = out_file.read_text(encoding="utf-8")
    assert 'xmlUrl="https://www.communitycare.co.uk/tag/child-safeguarding' in text
    assert 'category="/safeguarding,/reviews"' in text
