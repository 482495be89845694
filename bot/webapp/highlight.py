"""The article text cut into segments at its figures' and quotes' exact spans, so the item
page can mark each one. Pure: the template escapes every segment's text."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from bot.models import Extraction


class Mark(StrEnum):
    """How a stretch of text is shown (also its CSS class)."""

    PLAIN = ""
    QUOTE = "quote"
    FIGURE = "figure"
    FIGURE_IN_QUOTE = "figure quote"


@dataclass(frozen=True)
class Span:
    start: int
    end: int
    mark: Mark


@dataclass(frozen=True)
class Segment:
    text: str
    mark: Mark


def fact_spans(text: str, extraction: Extraction | None) -> list[Span]:
    """Each figure's and quote's span, if it still marks its own words in `text` (an item
    whose text changed after its facts were extracted must not get misplaced marks)."""
    if extraction is None:
        return []
    found = [
        Span(f.start, f.end, Mark.FIGURE)
        for f in extraction.figures
        if 0 <= f.start < f.end <= len(text) and text[f.start : f.end] == f.text
    ]
    found += [
        Span(q.start, q.end, Mark.QUOTE)
        for q in extraction.quotes
        if 0 <= q.start < q.end <= len(text) and q.text.strip() in text[q.start : q.end]
    ]
    return found


def segments(text: str, spans: Sequence[Span]) -> list[Segment]:
    """`text` as consecutive segments; a stretch inside a figure is FIGURE, inside a quote
    QUOTE, inside both FIGURE_IN_QUOTE. Spans may overlap or nest; out-of-range parts are
    clipped. Joining the segments' text gives `text` back."""
    size = len(text)
    # one sweep over the span edges: +1 where a span opens, -1 where it closes
    edges: dict[int, list[int]] = {0: [0, 0], size: [0, 0]}
    for span in spans:
        start, end = max(0, min(span.start, size)), max(0, min(span.end, size))
        if start >= end:
            continue
        slot = 0 if span.mark is Mark.FIGURE else 1
        edges.setdefault(start, [0, 0])[slot] += 1
        edges.setdefault(end, [0, 0])[slot] -= 1
    out: list[Segment] = []
    figures = quotes = 0
    bounds = sorted(edges)
    for start, end in itertools.pairwise(bounds):
        figures += edges[start][0]
        quotes += edges[start][1]
        mark = _mark(figure=figures > 0, quote=quotes > 0)
        if out and out[-1].mark is mark:
            out[-1] = Segment(out[-1].text + text[start:end], mark)
        else:
            out.append(Segment(text[start:end], mark))
    return [s for s in out if s.text]


def _mark(*, figure: bool, quote: bool) -> Mark:
    if figure and quote:
        return Mark.FIGURE_IN_QUOTE
    return Mark.FIGURE if figure else Mark.QUOTE if quote else Mark.PLAIN
