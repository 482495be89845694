"""The hand-labelled evaluation sets: the issue's targets, checked on every run."""

from __future__ import annotations

import importlib.util
import sys
from types import ModuleType

from tests.conftest import ROOT


def _scorer() -> ModuleType:
    spec = importlib.util.spec_from_file_location("extract_eval", ROOT / "bench/extract_eval.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def test_targets_on_the_labelled_dump() -> None:
    tally = _scorer().score_dump()
    c = tally.counts
    assert c["fig_label"] == 133 and c["q_label"] == 51
    assert tally.ratio("fig_tp", "fig_label") >= 0.97
    assert tally.ratio("fig_tp", "fig_pred") >= 0.97
    assert tally.ratio("q_tp", "q_label") >= 0.95 and tally.ratio("q_tp", "q_pred") >= 0.97
    assert tally.ratio("speaker_ok", "speaker_total") >= 0.90


def test_floors_on_the_development_articles() -> None:
    """Floors at the scores reached on the 64 development articles (issue 13's commit log),
    so a change that loses ground fails."""
    scorer = _scorer()
    tally = scorer.score_dir(scorer.DEV)
    assert tally.counts["articles"] == 64
    assert tally.counts["fig_never_core_as_core"] == 0
    assert tally.ratio("fig_tp", "fig_label") >= 0.975 and tally.ratio("fig_tp", "fig_pred") >= 0.95
    assert tally.ratio("fig_core_tp", "fig_pred_core") >= 0.92
    assert tally.ratio("fig_found_core", "fig_label_core") >= 0.97
    assert tally.ratio("claim_present", "claim_total") == 1.0
    assert tally.ratio("claim_ok", "claim_total") >= 0.895
    assert tally.ratio("change_ok", "change_total") >= 0.94
    assert tally.ratio("q_tp", "q_label") >= 0.99 and tally.ratio("q_tp", "q_pred") >= 0.99
    assert tally.ratio("q_tp '…'", "q_label '…'") == 1.0  # straight single marks
    assert tally.ratio("speaker_ok", "speaker_total") >= 0.935
    assert tally.ratio("role_ok", "role_total") >= 0.91
    assert tally.ratio("top3_ok", "top3_articles") >= 0.95


def test_speaker_matching_rules() -> None:
    matches = _scorer().speaker_matches
    assert matches("Andy Smith", "Smith")
    assert matches("Dr Miriam Oakes", "Miriam Oakes")
    assert matches(
        "the Child Safeguarding Practice Review Panel", "Child Safeguarding Practice Review Panel"
    )
    assert not matches("panel", "the Child Safeguarding Practice Review Panel")
    assert not matches("Andy Smith", "Annie Hudson")
    assert not matches("Andy Smith", "")


def test_words_agree_needs_most_words_and_no_padding() -> None:
    agree = _scorer().words_agree
    assert agree("children in rapid reviews", "of children in rapid reviews")
    assert not agree("children in rapid reviews who had experienced neglect", "children")
    assert not agree("rapid reviews", "rapid reviews " + "and much more besides " * 4)
