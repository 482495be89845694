"""feedparser's own 2,106 test feeds through `reportbot import --keep-going` in one command:
each file is imported or refused with one line naming it and the reason; no traceback."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.archive import Archive
from bot.cli import run
from tests.conftest import SHARED

CORPUS = SHARED / "feedparser-tests"


@pytest.mark.slow  # ~40 s: thousands of files imported end to end
def test_corpus_imports_or_refuses_every_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    if not CORPUS.is_dir():
        pytest.skip(f"feedparser corpus not found at {CORPUS} (it ships in ../shared)")
    files = sorted(str(p) for p in CORPUS.rglob("*.xml") if p.is_file())
    assert len(files) == 2106
    url = f"sqlite:///{tmp_path / 'corpus.db'}"
    code = run(["--database", url, "import", "--keep-going", *files])
    out, err = capsys.readouterr()
    refused = [line for line in err.splitlines() if line.startswith("refused: ")]
    imported = [
        line for line in out.splitlines() if " new, " in line and not line.startswith("total")
    ]
    assert code == 1  # some files are not feeds (and say so)
    assert "Traceback" not in out + err
    assert len(refused) + len(imported) == len(files)
    assert all(any(line.startswith(f"refused: {f}: ") for f in files) for line in refused)
    assert err.splitlines()[-1] == f"{len(refused)} of {len(files)} files refused"
    assert len(refused) < 20  # today 10: 8 with no RSS/Atom root (CDF, empty), 2 entity decls
    # the same story in several corpus files is one item since migration 0011 (bot.identity)
    assert Archive(url).counts()["items"] > 900
