"""Score the extractor against the hand labels in tests/data/extraction_labels.json.

    .venv/bin/python bench/extract_eval.py [--details]

Figures: a prediction matches a label when its text is the label's text and the label's
context lies within 45 characters of it. Full quotes: a prediction of kind "full" matches a
full-quote label when it starts with the label's words; its speaker is right when the names
agree (case, a leading article, and a full name versus its surname aside).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

from bot.dump import parse_dump
from bot.extract import RecurringIndex, extract
from bot.models import Extraction

ROOT = Path(__file__).resolve().parent.parent
LABELS = ROOT / "tests" / "data" / "extraction_labels.json"
DUMP = ROOT / "bot" / "data" / "communitycare-cspr-feed-dump.txt"
PROMO = re.compile(r"nominat|voice note|\bhub\b|Inform|poll embedded|100-250|50th", re.I)


def speaker_matches(label: str, predicted: str) -> bool:
    a, b = _norm(label), _norm(predicted)
    if not a or not b:
        return a == b
    return a == b or a in b or b in a or a.split()[-1] == b.split()[-1]


def _norm(name: str) -> str:
    return re.sub(r"^(?:the|a|an)\s+", "", name.strip().lower())


def score(details: bool = False) -> dict[str, float]:
    labels = json.loads(LABELS.read_text(encoding="utf-8"))["articles"]
    items = parse_dump(DUMP.read_text(encoding="utf-8"), str(DUMP)).items
    index = RecurringIndex(i.text for i in items)
    by_guid = {i.guid: i for i in items}
    fig_tp = fig_fp = fig_fn = boiler = 0
    q_tp = q_fp = q_fn = speaker_ok = 0
    for article in labels:
        text = by_guid[article["guid"]].text
        result: Extraction = extract(text, index)
        # figures
        unmatched = list(result.figures)
        for label_text, context in article["figures"]:
            assert context in text, f"label context not in article: {context!r}"
            hit = next(
                (
                    f
                    for f in unmatched
                    if f.text == label_text and context in text[max(0, f.start - 45) : f.end + 45]
                ),
                None,
            )
            if hit is None:
                fig_fn += 1
                if details:
                    print(f"  figure missed  {label_text!r} ({context!r})")
            else:
                fig_tp += 1
                unmatched.remove(hit)
        fig_fp += len(unmatched)
        for f in unmatched:
            boiler += bool(PROMO.search(f.sentence))
            if details:
                print(f"  figure extra   {f.text!r} in {f.sentence[:70]!r}")
        # full quotes
        predicted = [q for q in result.quotes if q.kind == "full"]
        for starts, speaker, kind in article["quotes"]:
            if kind != "full":
                continue
            hit = next((q for q in predicted if q.text.startswith(starts)), None)
            if hit is None:
                q_fn += 1
                if details:
                    print(f"  quote missed   {starts!r}")
                continue
            q_tp += 1
            predicted.remove(hit)
            if speaker_matches(speaker, hit.speaker):
                speaker_ok += 1
            elif details:
                print(f"  wrong speaker  {starts!r}: {hit.speaker!r}, labelled {speaker!r}")
        q_fp += len(predicted)
        if details:
            for q in predicted:
                print(f"  quote extra    {q.text[:60]!r} ({q.speaker!r})")
    return {
        "figures_precision": fig_tp / max(1, fig_tp + fig_fp),
        "figures_recall": fig_tp / max(1, fig_tp + fig_fn),
        "figures_labelled": fig_tp + fig_fn,
        "figures_from_boilerplate": boiler,
        "quotes_precision": q_tp / max(1, q_tp + q_fp),
        "quotes_recall": q_tp / max(1, q_tp + q_fn),
        "quotes_labelled": q_tp + q_fn,
        "speaker_accuracy": speaker_ok / max(1, q_tp),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--details", action="store_true", help="list every miss and extra")
    args = parser.parse_args()
    scores = score(args.details)
    for name, value in scores.items():
        print(f"{name:26} {value:.3f}" if isinstance(value, float) else f"{name:26} {value}")
    sys.exit(0)


if __name__ == "__main__":
    main()
