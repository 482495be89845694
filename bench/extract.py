"""Extraction speed over the dump's ten articles, on one core (no model downloads).

    .venv/bin/python bench/extract.py [--seconds 5]

Prints articles per second with the feed's recurring-paragraph index (as `import` runs it)
and without, and the time for a 5 MB article to show the cost stays linear.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from bot.dump import parse_dump
from bot.extract import RecurringIndex, extract

DUMP = Path(__file__).resolve().parent.parent / "bot" / "data" / "communitycare-cspr-feed-dump.txt"


def rate(texts: list[str], seconds: float, with_index: bool) -> float:
    done, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        index = RecurringIndex(texts) if with_index else None
        for text in texts:
            extract(text, index)
        done += len(texts)
    return done / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=5.0)
    args = parser.parse_args()
    texts = [i.text for i in parse_dump(DUMP.read_text(encoding="utf-8"), "dump").items]
    chars = sum(len(t) for t in texts) / len(texts)
    print(f"articles: {len(texts)}, mean {chars:,.0f} characters")
    print(f"with feed index:    {rate(texts, args.seconds, True):8.0f} articles/s")
    print(f"without index:      {rate(texts, args.seconds, False):8.0f} articles/s")
    for size_mb in (1, 5):
        big = "\n\n".join(texts) * (size_mb * 1_000_000 // len("\n\n".join(texts)) + 1)
        start = time.perf_counter()
        result = extract(big)
        took = time.perf_counter() - start
        print(f"{size_mb} MB article:       {took:8.2f} s "
              f"({len(result.figures)} figures, {len(result.quotes)} quotes)")


if __name__ == "__main__":
    main()
