"""Score the extractor against hand labels: development articles (one JSON file each, see
tests/data/devset/) and the feed dump (tests/data/extraction_labels.json).

    .venv/bin/python bench/extract_eval.py [DIR ...] [--no-dump] [--details]

DIR defaults to tests/data/devset/dev. Each DIR and the dump get a column of the table.

Figures: a prediction matches a label when their spans overlap (the label's span is its text
found inside its context), so "more than double" and "double" are one figure. Predictions
that match no label are false positives; a core prediction on a phone, age, duration, date
range or donation ask is counted on its own and must be 0. `what` and `claim` agree when most
of the label's content words are in the prediction and it is not padded with many more.
Quotes: a prediction matches a label when the label's first words start inside it; scored by
the mark that opens the label's quote. Speakers agree when the names do (a leading article,
titles, and a surname for a full name aside); roles when most of the label's words are there.
Top three: in each article, the three figures a digest shows are all labelled core.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.dump import parse_dump
from bot.extract import RecurringIndex, extract, top_figures
from bot.models import Extraction, Figure, Quote

ROOT = Path(__file__).resolve().parent.parent
LABELS = ROOT / "tests" / "data" / "extraction_labels.json"
DUMP = ROOT / "bot" / "data" / "communitycare-cspr-feed-dump.txt"
DEV = ROOT / "tests" / "data" / "devset" / "dev"
NEVER_CORE = frozenset({"phone", "age", "duration", "date_range", "donation"})
_STOP = frozenset(
    "a an the of in on at to for from by with was were is are had has have been be and or "
    "that which who where when than as it its their this these those per cent s".split()
)
_WORDS = re.compile(r"[a-z0-9]+")
_TITLES = re.compile(
    r"^(?:(?:the|a|an)\s+)?(?:(?:dr|prof|professor|cllr|councillor|sir|dame|mr|mrs|ms|lord|"
    r"baroness|rev)\.?\s+)*",
    re.IGNORECASE,
)


@dataclass
class Labelled:
    """One article with its labels, in the development-set format."""

    name: str
    text: str
    title: str = ""
    standfirst: str = ""
    figures: list[dict[str, Any]] = field(default_factory=list)
    not_figures: list[dict[str, Any]] = field(default_factory=list)
    quotes: list[dict[str, Any]] = field(default_factory=list)
    full_quotes_only: bool = False  # the dump's labels score full quotes only
    extraction: Extraction | None = None


def load_dir(directory: Path) -> list[Labelled]:
    out = []
    for path in sorted(directory.glob("*.json")):
        art = json.loads(path.read_text(encoding="utf-8"))
        out.append(
            Labelled(
                name=path.stem,
                text=art["text"],
                title=art.get("title", ""),
                standfirst=art.get("standfirst", ""),
                figures=art["figures"],
                not_figures=art.get("not_figures", []),
                quotes=art["quotes"],
            )
        )
    return out


def load_dump() -> tuple[list[Labelled], RecurringIndex]:
    """The dump's labels, as [text, context, {optional fields}] figures and
    [start, speaker, kind] quotes, brought into the development-set shape."""
    labels = json.loads(LABELS.read_text(encoding="utf-8"))["articles"]
    items = parse_dump(DUMP.read_text(encoding="utf-8"), str(DUMP)).items
    by_guid = {i.guid: i for i in items}
    out = []
    for article in labels:
        item = by_guid[article["guid"]]
        figures = [
            {"text": f[0], "context": f[1], **(f[2] if len(f) > 2 else {})}
            for f in article["figures"]
        ]
        quotes = [{"start": q[0], "speaker": q[1], "kind": q[2]} for q in article["quotes"]]
        out.append(
            Labelled(
                name=article["guid"].rsplit("=", 1)[-1],
                text=item.text,
                title=item.title,
                figures=figures,
                not_figures=[
                    {"text": n[0], "context": n[1], "why": n[2]}
                    for n in article.get("not_figures", [])
                ],
                quotes=quotes,
                full_quotes_only=True,
            )
        )
    return out, RecurringIndex(i.text for i in items)


def _span(text: str, label: dict[str, Any]) -> tuple[int, int]:
    ctx = label["context"]
    at = text.find(ctx)
    assert at >= 0, f"label context not in article: {ctx!r}"
    inner = ctx.find(label["text"])
    assert inner >= 0, f"label text not in its context: {label['text']!r}"
    return at + inner, at + inner + len(label["text"])


def _content(words: str) -> list[str]:
    return [w for w in _WORDS.findall(words.lower().replace("’", "'")) if w not in _STOP]


def words_agree(label: str, predicted: str, *, share: float = 0.75, pad: float = 2.0) -> bool:
    """Most of the label's content words are in the prediction, which is not much longer."""
    want, got = _content(label), _content(predicted)
    if not want:
        return not got
    have = set(got)
    found = sum(w in have for w in want) / len(want)
    return found >= share and len(got) <= pad * len(want) + 3


def speaker_matches(label: str, predicted: str) -> bool:
    a, b = _norm(label), _norm(predicted)
    if not a or not b:
        return a == b
    if a == b:
        return True
    short, long = sorted((a, b), key=len)
    if len(short.split()) >= 2 and short in long:
        return True  # "Department for Education" in "Department for Education (DfE) spokesperson"
    # a person by surname: both capitalised names with the same last word
    return _is_name(label) and _is_name(predicted) and a.split()[-1] == b.split()[-1]


def _is_name(name: str) -> bool:
    words = _TITLES.sub("", name.strip()).split()
    return 1 <= len(words) <= 4 and all(w[:1].isupper() for w in words)


def _norm(name: str) -> str:
    return _TITLES.sub("", name.strip()).lower().replace("’", "'")


def _mark(text: str, start: int) -> str:
    ch = text[start - 1] if start > 0 else ""
    return {"“": "“…”", '"': '"…"', "‘": "‘…’", "'": "'…'"}.get(ch, "other")


@dataclass
class Tally:
    counts: Counter[str] = field(default_factory=Counter)
    misses: list[str] = field(default_factory=list)

    def ratio(self, hit: str, total: str) -> float | None:
        return self.counts[hit] / self.counts[total] if self.counts[total] else None


def run(articles: Iterable[Labelled], index: RecurringIndex | None = None) -> Iterator[Labelled]:
    for art in articles:
        art.extraction = extract(art.text, index, title=f"{art.title}\n\n{art.standfirst}")
        yield art


def score(articles: list[Labelled], index: RecurringIndex | None = None) -> Tally:
    tally = Tally()
    for art in run(articles, index):
        assert art.extraction is not None
        _score_figures(art, art.extraction, tally)
        _score_quotes(art, art.extraction, tally)
    return tally


def _score_figures(art: Labelled, result: Extraction, t: Tally) -> None:
    c, text = t.counts, art.text
    spans = [_span(text, f) for f in art.figures]
    excluded = [(_span(text, n), n["why"]) for n in art.not_figures]
    matched: dict[int, Figure] = {}
    for fig in result.figures:
        hit = next(
            (
                i
                for i, (s, e) in enumerate(spans)
                if s < fig.end and fig.start < e and i not in matched
            ),
            None,
        )
        c["fig_pred"] += 1
        c["fig_pred_core"] += bool(fig.core) and not art.full_quotes_only
        if hit is None:
            why = next((w for (s, e), w in excluded if s < fig.end and fig.start < e), "unlabelled")
            c["fig_fp"] += 1
            if fig.core and why in NEVER_CORE:
                c["fig_never_core_as_core"] += 1
            t.misses.append(
                f"{art.name}: figure extra {fig.text!r} ({why}, core={fig.core}) "
                f"in {fig.sentence[:80]!r}"
            )
            continue
        matched[hit] = fig
        label = art.figures[hit]
        c["fig_tp"] += 1
        if "core" not in label:
            continue  # the dump's labels do not say which figures are core
        if fig.core and label["core"]:
            c["fig_core_tp"] += 1
        elif fig.core:
            t.misses.append(
                f"{art.name}: core but labelled narrative {fig.text!r} "
                f"{fig.claim or fig.sentence[:60]!r}"
            )
    for i, label in enumerate(art.figures):
        core = label.get("core")
        c["fig_label"] += 1
        c["fig_label_core"] += bool(core)
        fig = matched.get(i)
        if fig is None:
            t.misses.append(f"{art.name}: figure missed {label['text']!r} ({label['context']!r})")
            continue
        c["fig_found_core"] += bool(core) and bool(fig.core)
        if core and not fig.core:
            t.misses.append(
                f"{art.name}: narrative but labelled core {fig.text!r} {fig.sentence[:70]!r}"
            )
        if "what" in label:
            c["what_total"] += 1
            if words_agree(label["what"], fig.what, share=0.6):
                c["what_ok"] += 1
            else:
                t.misses.append(f"{art.name}: what {fig.what!r}, labelled {label['what']!r}")
        if "claim" in label and core:
            c["claim_total"] += 1
            c["claim_present"] += bool(fig.claim)
            if words_agree(label["claim"].replace(" … ", " "), fig.claim.replace(" … ", " ")):
                c["claim_ok"] += 1
            else:
                t.misses.append(f"{art.name}: claim {fig.claim!r}, labelled {label['claim']!r}")
        if "change" in label:
            c["change_total"] += 1
            want = (label["change"] or {}).get("direction", "")
            c["change_ok"] += fig.change == want
            if fig.change != want:
                t.misses.append(
                    f"{art.name}: change {fig.change!r} for {fig.text!r}, labelled {want!r}"
                )
    # what a digest shows: the top three must be core findings
    if any(f.get("core", True) for f in art.figures) and "core" in (art.figures or [{}])[0]:
        top = top_figures(result, 3)
        c["top3_articles"] += 1
        core_spans = [s for s, f in zip(spans, art.figures, strict=True) if f["core"]]
        ok = bool(top) and all(any(s < f.end and f.start < e for s, e in core_spans) for f in top)
        c["top3_ok"] += ok
        if not ok:
            t.misses.append(f"{art.name}: top three {[f.text for f in top]!r}")


def _score_quotes(art: Labelled, result: Extraction, t: Tally) -> None:
    c, text = t.counts, art.text
    predicted: list[Quote] = [
        q for q in result.quotes if q.kind == "full" or not art.full_quotes_only
    ]
    used: set[int] = set()
    pos = 0
    for label in art.quotes:
        if art.full_quotes_only and label["kind"] != "full":
            continue
        at = text.find(label["start"], pos)
        if at < 0:
            at = text.find(label["start"])
        pos = at + 1
        style = _mark(text, at)
        c[f"q_label {style}"] += 1
        c["q_label"] += 1
        hit = next(
            (n for n, q in enumerate(predicted) if n not in used and q.start <= at < q.end), None
        )
        if hit is None:
            t.misses.append(f"{art.name}: quote missed {label['start'][:50]!r}")
            continue
        used.add(hit)
        q = predicted[hit]
        c["q_tp"] += 1
        c[f"q_tp {style}"] += 1
        c["speaker_total"] += 1
        if speaker_matches(label["speaker"], q.speaker):
            c["speaker_ok"] += 1
        else:
            t.misses.append(
                f"{art.name}: speaker {q.speaker!r}, labelled {label['speaker']!r} "
                f"for {label['start'][:40]!r}"
            )
        if label.get("role"):
            c["role_total"] += 1
            if words_agree(label["role"], q.role, share=0.6):
                c["role_ok"] += 1
            else:
                t.misses.append(f"{art.name}: role {q.role!r}, labelled {label['role']!r}")
        if "kind" in label:
            c["qkind_total"] += 1
            c["qkind_ok"] += label["kind"] == q.kind
    for n, q in enumerate(predicted):
        style = _mark(text, q.start)
        c[f"q_pred {style}"] += 1
        c["q_pred"] += 1
        if n not in used:
            c[f"q_fp {style}"] += 1
            t.misses.append(f"{art.name}: quote extra {q.text[:50]!r} ({q.speaker!r})")


ROWS = [
    ("articles", "articles", None),
    ("figures labelled (core)", "fig_label", "fig_label_core"),
    ("figures precision", "fig_tp", "fig_pred"),
    ("figures recall", "fig_tp", "fig_label"),
    ("core precision", "fig_core_tp", "fig_pred_core"),
    ("core recall", "fig_found_core", "fig_label_core"),
    ("never-core kinds as core", "fig_never_core_as_core", None),
    ("what agrees", "what_ok", "what_total"),
    ("claim present (core)", "claim_present", "claim_total"),
    ("claim agrees (core)", "claim_ok", "claim_total"),
    ("change direction", "change_ok", "change_total"),
    ("top 3 all core", "top3_ok", "top3_articles"),
    ("quotes labelled", "q_label", None),
    ("quotes precision", "q_tp", "q_pred"),
    ("quotes recall", "q_tp", "q_label"),
    ("speaker right", "speaker_ok", "speaker_total"),
    ("role right", "role_ok", "role_total"),
    ("quote kind right", "qkind_ok", "qkind_total"),
]


def table(columns: dict[str, Tally]) -> str:
    names = list(columns)
    lines = [f"{'':28}" + "".join(f"{n:>14}" for n in names)]
    for label, hit, total in ROWS:
        cells = []
        for tally in columns.values():
            if total is None:
                cells.append(f"{tally.counts[hit]:>14}")
            elif hit == "fig_label":
                cell = f"{tally.counts[hit]} ({tally.counts[total]})"
                cells.append(f"{cell:>14}")
            else:
                r = tally.ratio(hit, total)
                cells.append(f"{'-':>14}" if r is None else f"{r:>14.3f}")
        lines.append(f"{label:28}" + "".join(cells))
    styles = sorted(
        {k.split(" ", 1)[1] for t in columns.values() for k in t.counts if k.startswith("q_label ")}
    )
    for style in styles:
        for label, hit, total in (("recall", "q_tp", "q_label"), ("precision", "", "q_pred")):
            cells = []
            for tally in columns.values():
                c = tally.counts
                if hit:
                    r = tally.ratio(f"{hit} {style}", f"{total} {style}")
                else:
                    pred = c[f"q_pred {style}"]
                    r = (pred - c[f"q_fp {style}"]) / pred if pred else None
                cells.append(f"{'-':>14}" if r is None else f"{r:>14.3f}")
            lines.append(f"{'  ' + style + ' ' + label:28}" + "".join(cells))
    return "\n".join(lines)


def score_dir(directory: Path) -> Tally:
    articles = load_dir(directory)
    tally = score(articles)
    tally.counts["articles"] = len(articles)
    return tally


def score_dump() -> Tally:
    articles, index = load_dump()
    tally = score(articles, index)
    tally.counts["articles"] = len(articles)
    return tally


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("dirs", nargs="*", type=Path, help="directories of labelled articles")
    parser.add_argument("--no-dump", action="store_true", help="leave the dump out")
    parser.add_argument("--details", action="store_true", help="list every miss and extra")
    args = parser.parse_args()
    columns = {d.name: score_dir(d) for d in (args.dirs or [DEV])}
    if not args.no_dump:
        columns["dump"] = score_dump()
    if args.details:
        for name, tally in columns.items():
            print(f"== {name}")
            for line in tally.misses:
                print(f"  {line}")
    print(table(columns))
    sys.exit(0)


if __name__ == "__main__":
    main()
