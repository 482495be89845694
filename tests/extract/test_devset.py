"""The development articles' labels are consistent (the mechanical rules of
tests/data/devset/README.md): every span is exact, contexts pin one occurrence, claims are
pieces of their sentence in order, kinds and reasons are known ones."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ROOT

DEVSET = ROOT / "tests" / "data" / "devset"
KINDS = {"percent", "money", "count", "decimal", "range", "fraction", "ratio", "multiple"}
WHY = {
    "phone",
    "reference",
    "donation",
    "age",
    "duration",
    "date_range",
    "date",
    "year",
    "time",
    "address",
    "ordinal",
    "typo",
    "other",
}
KEYS = ("id", "style", "title", "standfirst", "text", "figures", "not_figures", "quotes")
BARE = {"up", "down", "more", "less"}


def label_problems(art: dict[str, Any]) -> list[str]:
    """Every mechanical problem of one article's labels ([] when consistent)."""
    errs = [f"missing key {key}" for key in KEYS if key not in art]
    text = art.get("text", "")
    if "\n\n\n" in text:
        errs.append("three newlines in text: paragraphs are separated by one blank line")

    def exact(s: str, where: str) -> None:
        if not s or s not in text:
            errs.append(f"{where}: not an exact substring of text: {s!r}")

    for i, f in enumerate(art.get("figures", [])):
        errs += _figure_problems(f, f"figures[{i}] {f.get('text')!r}", text, exact)
    for i, n in enumerate(art.get("not_figures", [])):
        w = f"not_figures[{i}] {n.get('text')!r}"
        exact(n.get("text", ""), w + " text")
        exact(n.get("context", ""), w + " context")
        if n.get("text", "") not in n.get("context", ""):
            errs.append(f"{w}: context does not contain text")
        if n.get("why") not in WHY:
            errs.append(f"{w}: why {n.get('why')!r}")
    for i, q in enumerate(art.get("quotes", [])):
        w = f"quotes[{i}] {q.get('start', '')[:30]!r}"
        exact(q.get("start", ""), w + " start")
        if q.get("kind") not in ("full", "fragment"):
            errs.append(f"{w}: kind")
        if q.get("speaker_kind") not in ("person", "organisation", "report"):
            errs.append(f"{w}: speaker_kind")
        if "speaker" not in q or "role" not in q:
            errs.append(f"{w}: speaker and role keys are required ('' allowed)")
    for i, line in enumerate(art.get("furniture", [])):
        exact(line, f"furniture[{i}]")
    return errs


def _figure_problems(f: dict[str, Any], w: str, text: str, exact: Any) -> list[str]:
    errs: list[str] = []
    exact(f.get("text", ""), w + " text")
    ctx = f.get("context", "")
    exact(ctx, w + " context")
    if f.get("text", "") not in ctx:
        errs.append(f"{w}: context does not contain text")
    elif text.count(ctx) != 1:
        errs.append(f"{w}: context occurs {text.count(ctx)} times (must be unique)")
    sent = f.get("sentence", "")
    exact(sent, w + " sentence")
    if ctx and sent and ctx not in sent and f.get("text", "") not in sent:
        errs.append(f"{w}: sentence does not contain the figure")
    pos = 0
    for piece in f.get("claim", "").split(" … "):
        j = sent.find(piece, pos)
        if j < 0:
            errs.append(f"{w}: claim piece not in its sentence (in order): {piece!r}")
            break
        pos = j + len(piece)
    if f.get("kind") not in KINDS:
        errs.append(f"{w}: kind {f.get('kind')!r}")
    if not isinstance(f.get("value"), (int, float)):
        errs.append(f"{w}: value must be a number")
    if not f.get("what") or f.get("what", "").lower() in BARE:
        errs.append(f"{w}: what is empty or bare")
    if not isinstance(f.get("core"), bool):
        errs.append(f"{w}: core must be true/false")
    change = f.get("change")
    if change is not None:
        if change.get("direction") not in ("up", "down"):
            errs.append(f"{w}: change.direction")
        if change.get("baseline"):
            exact(change["baseline"], w + " change.baseline")
    return errs


def _files(part: str) -> list[Path]:
    return sorted((DEVSET / part).glob("*.json"))


@pytest.mark.parametrize("path", _files("dev"), ids=lambda p: p.stem)
def test_dev_article_labels_are_consistent(path: Path) -> None:
    assert label_problems(json.loads(path.read_text(encoding="utf-8"))) == []


def test_heldout_article_labels_are_consistent() -> None:
    """The set-aside articles are checked without showing their contents: only counts."""
    bad = [
        p.stem
        for p in _files("heldout")
        if label_problems(json.loads(p.read_text(encoding="utf-8")))
    ]
    assert not bad, f"{len(bad)} set-aside articles have label problems"


def test_the_checker_finds_each_kind_of_problem() -> None:
    art = {
        "id": "x",
        "style": "s",
        "title": "t",
        "standfirst": "",
        "text": "Up 5% on 2023.",
        "figures": [
            {
                "text": "5%",
                "context": "5% on",
                "sentence": "Up 5% on 2023.",
                "claim": "on 2023 … Up 5%",
                "kind": "pct",
                "value": "5",
                "what": "up",
                "core": 1,
                "change": {"direction": "sideways", "baseline": "2022"},
            }
        ],
        "not_figures": [{"text": "2023", "context": "on 2024", "why": "calendar"}],
        "quotes": [{"start": "Nobody", "kind": "said", "speaker_kind": "ghost"}],
        "furniture": ["Read more"],
    }
    problems = " | ".join(label_problems(art))
    for expected in (
        "claim piece",
        "kind 'pct'",
        "value must",
        "what is empty or bare",
        "core must",
        "change.direction",
        "change.baseline",
        "why 'calendar'",
        "quotes[0] 'Nobody' start",
        "speaker_kind",
        "speaker and role keys",
        "furniture[0]",
        "context does not contain text",
    ):
        assert expected in problems
