"""Fact extraction: key figures and direct quotes, each an exact span of the article text.

`extract(text)` is pure: text (or HTML) in, `Extraction` out. Bump EXTRACTOR_VERSION whenever
the output for the same input can change; `reportbot reextract` recomputes stored facts.
"""

from __future__ import annotations

from bot.extract.figures import find_figures
from bot.extract.quotes import find_quotes
from bot.extract.text import RecurringIndex, analyse
from bot.models import Extraction

EXTRACTOR_VERSION = "1"


__all__ = ["EXTRACTOR_VERSION", "RecurringIndex", "extract"]


def extract(text: str, recurring: RecurringIndex | None = None) -> Extraction:
    """Figures and quotes of one article (plain text or HTML). `recurring` indexes the texts
    of the feed's items, to recognise boilerplate that repeats across them."""
    article = analyse(text, recurring)
    return Extraction(
        version=EXTRACTOR_VERSION,
        figures=tuple(find_figures(article)),
        quotes=tuple(find_quotes(article)),
    )
