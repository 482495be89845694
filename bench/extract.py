"""Extraction speed over the dump's ten articles, on one core (no model downloads).

    .venv/bin/python bench/extract.py [--seconds 5]

Prints articles per second with the feed's recurring-paragraph index (as `import` runs it)
and without, the time for a 1 and a 5 MB article, and for 4,000 and 40,000 straight-quoted
words in one sentence (`'"x" ' * n`, which took time quadratic in n before issue 13: 13 s
for 4,000), to show the cost stays linear. Times are CPU time of this process.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from bot.dump import parse_dump
from bot.extract import RecurringIndex, extract

DUMP = Path(__file__).resolve().parent.parent / "bot" / "data" / "communitycare-cspr-feed-dump.txt"


def rate(texts: list[str], seconds: float, with_index: bool) -> tuple[float, float]:
    """(best, median) articles/s over rounds of about a second of this process's CPU time:
    the machine is shared, so wall time would count the neighbours' work too."""
    rates = []
    for _ in range(max(3, round(seconds))):
        done, start = 0, time.process_time()
        while time.process_time() - start < 1.0:
            index = RecurringIndex(texts) if with_index else None
            for text in texts:
                extract(text, index)
            done += len(texts)
        rates.append(done / (time.process_time() - start))
    rates.sort()
    return rates[-1], rates[len(rates) // 2]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=5.0)
    args = parser.parse_args()
    texts = [i.text for i in parse_dump(DUMP.read_text(encoding="utf-8"), "dump").items]
    chars = sum(len(t) for t in texts) / len(texts)
    print(f"articles: {len(texts)}, mean {chars:,.0f} characters")
    for label, with_index in (("with feed index", True), ("without index", False)):
        best, median = rate(texts, args.seconds, with_index)
        print(f"{label + ':':20}{best:8.0f} articles/s best, {median:.0f} median (one core)")
    for size_mb in (1, 5):
        big = "\n\n".join(texts) * (size_mb * 1_000_000 // len("\n\n".join(texts)) + 1)
        start = time.process_time()
        result = extract(big)
        took = time.process_time() - start
        print(
            f"{size_mb} MB article:       {took:8.2f} s "
            f"({len(result.figures)} figures, {len(result.quotes)} quotes)"
        )
    for marks in (4_000, 40_000):
        start = time.process_time()
        result = extract('"x" ' * marks)
        took = time.process_time() - start
        print(f"{marks:,} quote marks:{took:8.2f} s ({len(result.quotes)} quotes)")


if __name__ == "__main__":
    main()
