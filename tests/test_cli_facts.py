"""`reportbot reextract` and `reextract --missing`: facts recomputed in the sandbox."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.archive import Archive
from bot.cli import run
from bot.decide import MissingFacts
from bot.models import Extraction, FeedInfo, Item, ParsedFeed


def _archive(tmp_path: Path, *texts: str) -> tuple[str, Archive]:
    url = f"sqlite:///{tmp_path / 'a.db'}"
    archive = Archive(url)
    archive.upgrade()
    items = tuple(
        Item(key=f"g{n}", guid=f"g{n}", link="", title=f"T{n}", published=None, text=text)
        for n, text in enumerate(texts)
    )
    archive.add([(ParsedFeed(FeedInfo(title="F"), items, "test", "test"), "f")])
    return url, archive


def _by_guid(archive: Archive) -> dict[str, Extraction | None]:
    return {s.item.guid: s.extraction for s in archive.items()}


def test_reextract_missing_retries_only_the_items_without_facts(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url, archive = _archive(tmp_path, "It found 71% of reviews late.", "Another 12% were.")
    first, second = sorted(archive.items(), key=lambda s: s.item.guid)
    old = Extraction(version="old", figures=(), quotes=())
    archive.store_facts([(first.id, MissingFacts("took longer than 20 s")), (second.id, old)])
    assert run(["--database", url, "reextract", "--missing"]) == 0
    assert capsys.readouterr().out.strip() == "re-extracted facts of 1 items"
    facts = _by_guid(archive)
    assert facts["g0"] is not None and facts["g0"].figures[0].text == "71%"
    assert facts["g1"] == old  # had facts: left alone
    assert archive.items(facts_missing=True) == []


@pytest.mark.slow
def test_reextract_missing_keeps_an_overrunning_article_missing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # 80,000 figures in one sentence: several seconds of extraction, linear but long
    url, archive = _archive(tmp_path, "71% 38% 12% 4 in 10 " * 20_000)
    (stored,) = archive.items()
    archive.store_facts([(stored.id, MissingFacts("took longer than 20 s"))])
    cfg = tmp_path / "rb.toml"
    cfg.write_text(f'[archive]\nurl = "{url}"\n[worker]\nparse_timeout = "1s"\n')
    assert run(["--config", str(cfg), "reextract", "--missing"]) == 0
    out = capsys.readouterr().out.strip()
    assert out.startswith("re-extracted facts of 1 items; 1 still without facts")
    assert [s.id for s in archive.items(facts_missing=True)] == [stored.id]


def test_reextract_recomputes_every_item_in_the_sandbox(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url, archive = _archive(tmp_path, "It found 71% of reviews late.", "Another 12% were.")
    old = Extraction(version="old", figures=(), quotes=())
    archive.store_facts([(s.id, old) for s in archive.items()])
    assert run(["--database", url, "reextract"]) == 0
    assert capsys.readouterr().out.strip() == "re-extracted facts of 2 items"
    assert all(f is not None and f.version != "old" for f in _by_guid(archive).values())


def test_reextract_help_shows_missing(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["reextract", "--help"]) == 0
    out = capsys.readouterr().out
    assert "--missing" in out and "reportbot reextract --missing" in out


def test_extract_title_ranks_the_figure_the_headline_repeats(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    article = tmp_path / "a.txt"
    article.write_text("It found 71% of councils had cut help. And 38% of families waited.\n")
    assert run(["extract", str(article), "--title", "38% of families wait"]) == 0
    figures = json.loads(capsys.readouterr().out)["figures"]
    assert max(figures, key=lambda f: f["salience"])["text"] == "38%"
