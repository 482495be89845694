"""Fact extraction: key figures and direct quotes, each an exact span of the article text.

`extract(text)` is pure: text (or HTML) in, `Extraction` out. Bump EXTRACTOR_VERSION whenever
the output for the same input can change; `reportbot reextract` recomputes stored facts.
"""

from __future__ import annotations

import re

from bot.extract.figures import find_figures
from bot.extract.quotes import find_quotes
from bot.extract.text import RecurringIndex, analyse
from bot.models import Extraction, Figure, Quote, claim_parts

EXTRACTOR_VERSION = "3"


__all__ = [
    "EXTRACTOR_VERSION",
    "RecurringIndex",
    "claim_parts",
    "extract",
    "extract_batch",
    "headline",
    "readable",
    "top_figures",
    "top_quote",
]


def extract(text: str, recurring: RecurringIndex | None = None, *, title: str = "") -> Extraction:
    """Figures and quotes of one article (plain text or HTML). `recurring` indexes the texts
    of the feed's items, to recognise boilerplate that repeats across them; `title` (the
    headline, and the summary or standfirst if any) marks the figures the article leads with."""
    article = analyse(text, recurring)
    return Extraction(
        version=EXTRACTOR_VERSION,
        figures=tuple(find_figures(article, title)),
        quotes=tuple(find_quotes(article)),
    )


def extract_batch(
    texts: list[str], feed_texts: list[str], titles: list[str] | None = None
) -> list[Extraction]:
    """Facts of several items of one feed, with the feed's recurring-paragraph index built
    once (the poller and `reextract` run this in a sandbox worker); `titles[i]` is what
    `headline` gives for texts[i]."""
    index = RecurringIndex(feed_texts)
    heads = titles if titles is not None else [""] * len(texts)
    return [extract(text, index, title=head) for text, head in zip(texts, heads, strict=True)]


# A feed's summary longer than this is the article again (or most of it), not a standfirst:
# every figure of the lead would count as one the headline repeats.
_STANDFIRST_MAX = 600


def headline(title: str, summary: str = "", text: str = "") -> str:
    """What `extract(title=...)` takes for an item: its headline, and its summary when that
    is a standfirst of a few lines of its own. A summary that is the article's opening
    (most feeds' description) says nothing the text does not: its figures lead already."""
    opening = " ".join(summary.split()[:10]).rstrip("….")[:60]  # "…" ends a cut summary
    own = opening and opening not in " ".join(text[:3000].split())
    standfirst = summary.strip() if own and len(summary) <= _STANDFIRST_MAX else ""
    return "\n\n".join(part for part in (title.strip(), standfirst) if part)


def top_figures(extraction: Extraction, n: int = 3, *, readable_only: bool = False) -> list[Figure]:
    """The n most salient core figures, in the order the article gives them. Narrative
    numbers (core False) never reach a digest; facts stored before the extractor decided
    core (None) are ranked as they were. `readable_only` (what a digest shows): only figures
    whose claim a reader understands alone (see `readable`)."""
    ranked: list[Figure] = []
    claims: set[str] = set()
    for f in sorted(extraction.figures, key=lambda f: (-f.salience, f.start)):
        if f.core is False or (f.claim and f.claim in claims):
            continue  # "289, or 54%": one claim, shown once
        if readable_only and not readable(f):
            continue
        ranked.append(f)
        claims.add(f.claim)
        if len(ranked) == n:
            break
    return sorted(ranked, key=lambda f: f.start)


_CLAIM_WORDS = re.compile(r"[^\W\d_][\w’'-]*")
_NOT_MEANING = frozenset(
    "a an the of in on at to for from by with and or as per cent percent than more less "
    "fewer about around nearly almost some just over under up down it its they their this "
    "that which also found finds said says show shows showed revealed reveals".split()
)


def readable(figure: Figure) -> bool:
    """Can a reader understand the figure's claim alone? It holds the figure and at least
    two words of meaning besides (what is counted and what is said of it): "27% of
    children" or "15 relating" tell nothing, "27% of children had been neglected" does."""
    at = figure.claim.find(figure.text) if figure.claim else -1
    if at < 0:
        return False
    rest = figure.claim[:at] + " " + figure.claim[at + len(figure.text) :]
    words = [w for w in _CLAIM_WORDS.findall(rest.lower()) if w not in _NOT_MEANING]
    return len(words) >= 2


def top_quote(extraction: Extraction) -> Quote | None:
    """The article's first full quote with a known speaker (news puts the key quote first)."""
    return next((q for q in extraction.quotes if q.kind == "full" and q.speaker), None)
