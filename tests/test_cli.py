"""The `reportbot` command end to end: import, export, archive views, user errors."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from bot.archive import Archive
from bot.cli import run
from bot.extract import EXTRACTOR_VERSION
from tests.conftest import DATA, DUMP


@pytest.fixture
def cli(archive_url: str, capsys: pytest.CaptureFixture[str]):  # type: ignore[no-untyped-def]
    """Run a command against this test's archive; returns (exit code, stdout, stderr)."""

    def call(*args: str) -> tuple[int, str, str]:
        code = run(["--database", archive_url, *args])
        out, err = capsys.readouterr()
        return code, out, err

    return call


def test_import_dump_prints_counts(cli) -> None:  # type: ignore[no-untyped-def]
    code, out, _ = cli("import", str(DUMP))
    assert code == 0
    assert "10 new, 0 updated, 0 unchanged" in out


def test_second_import_says_nothing_new(cli) -> None:  # type: ignore[no-untyped-def]
    cli("import", str(DUMP))
    code, out, _ = cli("import", str(DUMP))
    assert code == 0 and "0 new, 0 updated, 10 unchanged" in out and "nothing new" in out


def test_import_several_formats_at_once(cli) -> None:  # type: ignore[no-untyped-def]
    paths = [str(DATA / n) for n in ("wordpress-rss20.xml", "rss10.rdf", "atom10.xml")]
    code, out, _ = cli("import", *paths)
    assert code == 0 and "total: 4 new" in out


def test_import_under_given_feed(cli, archive_url: str) -> None:  # type: ignore[no-untyped-def]
    cli("import", "--feed", "cspr", str(DUMP))
    assert [f.key for f in Archive(archive_url).feeds()] == ["cspr"]


def _garbage(tmp_path: Path) -> dict[str, tuple[Path, str]]:
    lines = DUMP.read_text(encoding="utf-8").split("\n")
    cases = {
        "empty": (b"", "file is empty"),
        "binary": (bytes(range(256)) * 8, "binary data"),
        "truncated": ("\n".join(lines[:150]).encode(), ":102: record is truncated"),
        "html": ((DATA / "html-page.html").read_bytes(), "HTML page"),
    }
    out = {}
    for name, (data, message) in cases.items():
        path = tmp_path / f"{name}.txt"
        path.write_bytes(data)
        out[name] = (path, message)
    out["missing"] = (tmp_path / "no-such-file.xml", "no such file")
    return out


@pytest.mark.parametrize("case", ["empty", "binary", "truncated", "html", "missing"])
def test_garbage_is_one_line_and_archive_unchanged(  # type: ignore[no-untyped-def]
    cli, archive_url: str, tmp_path: Path, case: str
) -> None:
    cli("import", str(DATA / "atom10.xml"))
    before = Archive(archive_url).counts()
    path, message = _garbage(tmp_path)[case]
    # the good dump goes first: one bad file must keep it out too
    code, _, err = cli("import", str(DUMP), str(path))
    assert code == 1
    assert err.count("\n") == 1 and err.startswith(f"reportbot: error: {path}")
    assert message in err
    assert Archive(archive_url).counts() == before


def test_export_jsonl_fields_newest_first(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    cli("import", str(DUMP))
    out_path = tmp_path / "items.jsonl"
    code, _, _ = cli("export", "--format", "jsonl", "--out", str(out_path))
    rows = [json.loads(line) for line in out_path.read_text(encoding="utf-8").splitlines()]
    assert code == 0 and len(rows) == 10
    for key in (
        "guid",
        "feed",
        "title",
        "link",
        "published",
        "summary",
        "text",
        "comments",
        "image",
    ):
        assert key in rows[0]
    assert rows[0]["published"] == "2025-04-03T07:06:37Z"
    assert [r["published"] for r in rows] == sorted((r["published"] for r in rows), reverse=True)


def test_rss_export_round_trips(  # type: ignore[no-untyped-def]
    cli, archive_url: str, tmp_path: Path
) -> None:
    """export --format rss, then import into an empty archive: identical items, every field."""
    cli("import", str(DUMP))
    rss = tmp_path / "archive.xml"
    assert cli("export", "--format", "rss", "--out", str(rss))[0] == 0
    second = f"sqlite:///{tmp_path / 'second.db'}"
    assert run(["--database", second, "import", str(rss)]) == 0
    original = [s.item for s in Archive(archive_url).items()]
    copied = [s.item for s in Archive(second).items()]
    assert len(copied) == 10 and copied == original


def test_rss_export_is_valid_rss20(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    import feedparser

    cli("import", str(DUMP))
    code, out, _ = cli("export", "--format", "rss")
    parsed = feedparser.parse(out.encode())
    assert code == 0 and parsed.version == "rss20" and not parsed.bozo
    assert len(parsed.entries) == 10


def test_archive_list(cli) -> None:  # type: ignore[no-untyped-def]
    cli("import", str(DUMP))
    code, out, _ = cli("archive", "list", "--limit", "2")
    assert code == 0 and "2 items, newest first" in out and "Racial bias" in out


def test_archive_list_empty(cli) -> None:  # type: ignore[no-untyped-def]
    code, out, _ = cli("archive", "list")
    assert code == 0 and "the archive is empty" in out


def test_archive_show_by_http_guid(cli) -> None:  # type: ignore[no-untyped-def]
    cli("import", str(DUMP))
    code, out, _ = cli("archive", "show", "http://www.communitycare.co.uk/?p=210650")
    assert code == 0 and "Project seeks to improve" in out and "makibestphoto" in out


def test_archive_show_unknown_guid(cli) -> None:  # type: ignore[no-untyped-def]
    code, _, err = cli("archive", "show", "nope")
    assert code == 1 and err.startswith("reportbot: error: no item with GUID 'nope'")


def test_bad_config_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = tmp_path / "bad.toml"
    cfg.write_text('[archive]\nurl = "sqlite:///x.db"\ncolour = "red"\n')
    assert run(["--config", str(cfg), "archive", "list"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "archive.colour: unknown key" in err


def test_config_sets_database(tmp_path: Path) -> None:
    cfg = tmp_path / "rb.toml"
    cfg.write_text(f'[archive]\nurl = "sqlite:///{tmp_path / "cfg.db"}"\n')
    assert run(["--config", str(cfg), "import", str(DATA / "atom10.xml")]) == 0
    assert (tmp_path / "cfg.db").exists()


def test_console_script_runs(tmp_path: Path) -> None:
    """The installed entry point, in a real process: a user error exits 1 without a traceback."""
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "bot",
            "--database",
            f"sqlite:///{tmp_path / 'p.db'}",
            "import",
            str(tmp_path / "missing.xml"),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 1
    assert proc.stderr.strip() == f"reportbot: error: {tmp_path / 'missing.xml'}: no such file"


def test_import_stores_facts_with_version(cli, archive_url: str) -> None:  # type: ignore[no-untyped-def]
    from bot.extract import EXTRACTOR_VERSION

    cli("import", str(DUMP))
    stored = Archive(archive_url).find("https://www.communitycare.co.uk/?p=216724")[0]
    assert stored.extraction is not None and stored.extraction.version == EXTRACTOR_VERSION
    assert "71%" in [f.text for f in stored.extraction.figures]


_HEADLINE_FEED = """<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0"><channel><title>Headlines</title><link>https://news.example/</link>
<description>d</description><item><title>{title}</title>
<link>https://news.example/waits</link><guid>https://news.example/waits</guid>
<description>The review found 71% of councils had cut early help. It also found that
38% of families waited more than a year for support.</description></item></channel></rss>
"""


def _top_by_salience(archive_url: str) -> str:
    (stored,) = Archive(archive_url).items()
    assert stored.extraction is not None
    return max(stored.extraction.figures, key=lambda f: f.salience).text


@pytest.mark.parametrize(
    ("title", "first"),
    [("Early help cut in most councils", "71%"), ("38% of families wait a year for help", "38%")],
)
def test_import_ranks_the_figure_the_headline_repeats_first(  # type: ignore[no-untyped-def]
    cli, archive_url: str, tmp_path: Path, title: str, first: str
) -> None:
    feed = tmp_path / "feed.xml"
    feed.write_text(_HEADLINE_FEED.format(title=title), encoding="utf-8")
    assert cli("import", str(feed))[0] == 0
    assert _top_by_salience(archive_url) == first


def test_reextract_keeps_the_headline_figure_first(  # type: ignore[no-untyped-def]
    cli, archive_url: str, tmp_path: Path
) -> None:
    feed = tmp_path / "feed.xml"
    feed.write_text(_HEADLINE_FEED.format(title="38% of families wait"), encoding="utf-8")
    cli("import", str(feed))
    arch = Archive(archive_url)
    arch.store_facts([(s.id, replace(s.extraction, version="0")) for s in arch.items()])  # type: ignore[type-var]
    assert cli("reextract")[0] == 0
    assert _top_by_salience(archive_url) == "38%"


def test_export_jsonl_carries_figures_and_quotes(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    cli("import", str(DUMP))
    _, out, _ = cli("export")
    rows = [json.loads(line) for line in out.splitlines()]
    first = rows[0]
    assert {"text", "value", "kind", "what", "sentence", "salience"} <= set(first["figures"][0])
    sea_change = next(r for r in rows if r["guid"].endswith("216228"))
    speakers = {q["speaker"] for q in sea_change["quotes"] if q["kind"] == "full"}
    assert {"Jahnine Davis", "Andy Smith", "Jo Casebourne"} <= speakers


def test_archive_show_lists_facts(cli) -> None:  # type: ignore[no-untyped-def]
    cli("import", str(DUMP))
    code, out, _ = cli("archive", "show", "https://www.communitycare.co.uk/?p=214901")
    assert code == 0 and "Key figures" in out and "3,001,339" in out and "Andy Smith" in out


def test_archive_list_facts(cli) -> None:  # type: ignore[no-untyped-def]
    cli("import", str(DUMP))
    code, out, _ = cli("archive", "list", "--facts", "--limit", "1")
    assert code == 0 and "71% of respondents believed racial bias" in out


def test_reextract_recomputes_every_item(cli, archive_url: str) -> None:  # type: ignore[no-untyped-def]
    cli("import", str(DUMP))
    arch = Archive(archive_url)
    arch.store_facts([(s.id, replace(s.extraction, version="0")) for s in arch.items()])  # type: ignore[type-var]
    code, out, _ = cli("reextract")
    assert code == 0 and "re-extracted facts of 10 items" in out
    assert {s.extraction.version for s in arch.items()} == {EXTRACTOR_VERSION}  # type: ignore[union-attr]


def test_extract_command_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    article = tmp_path / "a.txt"
    article.write_text("Panel chair Annie Hudson said: “71% of reviews were late.”\n")
    assert run(["extract", str(article)]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["figures"][0]["text"] == "71%"
    assert data["quotes"][0]["speaker"] == "Annie Hudson"
    assert set(data["quotes"][0]) >= {"text", "speaker", "role", "kind", "sentence"}


def test_extract_several_files_one_line_each(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    paths = []
    for n, body in enumerate(["<p>It cost £5m.</p>", "Nothing here"]):
        path = tmp_path / f"{n}.html"
        path.write_text(body)
        paths.append(str(path))
    assert run(["extract", *paths]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [len(json.loads(line)["figures"]) for line in lines] == [1, 0]


def test_extract_missing_file_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["extract", "nope.txt"]) == 1
    assert capsys.readouterr().err == "reportbot: error: nope.txt: no such file\n"


def test_extract_binary_garbage_gives_empty_results(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "bin"
    path.write_bytes(bytes(range(256)) * 100)
    assert run(["extract", str(path)]) == 0
    assert json.loads(capsys.readouterr().out) == {"figures": [], "quotes": []}


@pytest.mark.parametrize("fmt", ["html", "text", "slack", "teams", "discord", "json"])
def test_digest_preview_every_format(cli, fmt: str) -> None:  # type: ignore[no-untyped-def]
    cli("import", str(DUMP))
    code, out, _ = cli("digest", "preview", "demo", "--format", fmt)
    assert code == 0 and "Racial bias" in out
    if fmt not in ("html", "text"):
        for line in out.splitlines():
            json.loads(line)


def test_digest_preview_writes_file(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    cli("import", str(DUMP))
    out = tmp_path / "demo" / "digest.html"
    code, _, err = cli("digest", "preview", "demo", "--format", "html", "--out", str(out))
    assert code == 0 and out.read_text().startswith("<!DOCTYPE html>") and "wrote html" in err


def test_digest_preview_unknown_subscription(cli) -> None:  # type: ignore[no-untyped-def]
    code, _, err = cli("digest", "preview", "weekly")
    assert code == 1 and err.startswith("reportbot: error: no subscription with id 'weekly'")


def test_archive_show_prints_a_title_with_markup_characters_as_text(
    cli, tmp_path: Path  # type: ignore[no-untyped-def]
) -> None:
    feed = tmp_path / "odd.xml"
    feed.write_text(
        '<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>'
        "<link>https://odd.example/</link><description>d</description>"
        "<item><title>Oops [/bold] closing [link=https://evil.example]x[/link]</title>"
        "<link>https://odd.example/1</link><guid>https://odd.example/1</guid>"
        "<description>text</description></item></channel></rss>",
        encoding="utf-8",
    )
    assert cli("import", str(feed))[0] == 0
    code, out, err = cli("archive", "show", "https://odd.example/1")
    assert code == 0, err
    assert "Oops [/bold] closing [link=https://evil.example]x[/link]" in out


def test_a_database_url_naming_a_missing_folder_is_an_error(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'no-such-folder' / 'x.db'}"
    code = run(["--database", url, "status"])
    _, err = capsys.readouterr()
    assert code == 1 and "does not exist: check the database URL" in err
    assert not (tmp_path / "no-such-folder").exists()
