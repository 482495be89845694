"""The article text cut at its figures' and quotes' spans (bot.webapp.highlight)."""

from __future__ import annotations

from bot.models import Extraction, Figure, Quote
from bot.webapp.highlight import Mark, Segment, Span, fact_spans, segments

TEXT = "Only 7% said “it is not at all 12% true”, said Ann."


def _figure(text: str, start: int) -> Figure:
    return Figure(
        text=text, start=start, end=start + len(text), kind="percent", value=None, low=None,
        high=None, unit="%", what="", sentence="", salience=1.0,
    )


def _quote(text: str, start: int) -> Quote:
    return Quote(
        text=text, start=start, end=start + len(text), speaker="Ann", role="", kind="full",
        sentence="",
    )


def test_no_spans_is_one_plain_segment() -> None:
    assert segments(TEXT, []) == [Segment(TEXT, Mark.PLAIN)]


def test_empty_text_has_no_segments() -> None:
    assert segments("", [Span(0, 3, Mark.FIGURE)]) == []


def test_figure_is_marked_at_its_exact_span() -> None:
    at = TEXT.index("7%")
    assert segments(TEXT, [Span(at, at + 2, Mark.FIGURE)]) == [
        Segment("Only ", Mark.PLAIN),
        Segment("7%", Mark.FIGURE),
        Segment(TEXT[at + 2 :], Mark.PLAIN),
    ]


def test_figure_inside_a_quote_is_marked_as_both() -> None:
    q = TEXT.index("it is")
    f = TEXT.index("12%")
    end = TEXT.index("true") + 4
    got = segments(TEXT, [Span(q, end, Mark.QUOTE), Span(f, f + 3, Mark.FIGURE)])
    assert [s for s in got if s.mark is not Mark.PLAIN] == [
        Segment("it is not at all ", Mark.QUOTE),
        Segment("12%", Mark.FIGURE_IN_QUOTE),
        Segment(" true", Mark.QUOTE),
    ]


def test_segments_join_back_to_the_text_whatever_the_spans() -> None:
    spans = [Span(-5, 3, Mark.QUOTE), Span(2, 9, Mark.FIGURE), Span(40, 999, Mark.QUOTE)]
    assert "".join(s.text for s in segments(TEXT, spans)) == TEXT


def test_overlapping_spans_of_one_kind_make_one_segment() -> None:
    got = segments("abcdef", [Span(1, 4, Mark.FIGURE), Span(2, 5, Mark.FIGURE)])
    assert got == [Segment("a", Mark.PLAIN), Segment("bcde", Mark.FIGURE), Segment("f", Mark.PLAIN)]


def test_facts_whose_words_moved_are_not_marked() -> None:
    """Text edited after extraction: a span that no longer holds its words is dropped."""
    extraction = Extraction(
        version="2",
        figures=(_figure("7%", TEXT.index("7%")), _figure("12%", 0), _figure("9%", 500)),
        quotes=(_quote("it is not", TEXT.index("it is")), _quote("gone", 3)),
    )
    assert fact_spans(TEXT, extraction) == [
        Span(5, 7, Mark.FIGURE),
        Span(TEXT.index("it is"), TEXT.index("it is") + 9, Mark.QUOTE),
    ]


def test_no_extraction_no_spans() -> None:
    assert fact_spans(TEXT, None) == []
