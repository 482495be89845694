"""The hand-labelled evaluation set: the issue's targets, checked on every run."""

from __future__ import annotations

import importlib.util
from types import ModuleType

from tests.conftest import ROOT


def _scorer() -> ModuleType:
    spec = importlib.util.spec_from_file_location("extract_eval", ROOT / "bench/extract_eval.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_targets_on_the_labelled_dump() -> None:
    scores = _scorer().score()
    assert scores["figures_labelled"] == 150 and scores["quotes_labelled"] == 51
    assert scores["figures_recall"] >= 0.97 and scores["figures_precision"] >= 0.97
    assert scores["figures_from_boilerplate"] == 0
    assert scores["quotes_recall"] >= 0.95 and scores["quotes_precision"] >= 0.95
    assert scores["speaker_accuracy"] >= 0.95


def test_speaker_matching_rules() -> None:
    matches = _scorer().speaker_matches
    assert matches("Andy Smith", "Smith")
    assert matches("panel", "the Child Safeguarding Practice Review Panel")
    assert not matches("Andy Smith", "Annie Hudson")
    assert not matches("Andy Smith", "")
