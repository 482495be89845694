"""feedparser's own 2,106 test feeds through the import path: each one is imported or refused
with a one-line reason; none raises anything else or hangs."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.errors import InputError
from bot.pipeline import read_document
from tests.conftest import SHARED

CORPUS = SHARED / "feedparser-tests"


def test_every_corpus_feed_is_read_or_refused_cleanly() -> None:
    if not CORPUS.is_dir():
        pytest.skip(f"feedparser corpus not found at {CORPUS} (it ships in ../shared)")
    files = sorted(p for p in CORPUS.rglob("*.xml") if p.is_file())
    assert len(files) > 2000
    refused: list[str] = []
    read = 0
    for path in files:
        try:
            doc = read_document(Path(path))
        except InputError as exc:
            assert "\n" not in str(exc)
            refused.append(str(exc))
            continue
        read += 1
        for item in doc.items:
            assert item.key
    assert read + len(refused) == len(files)
    assert read > len(refused)
