"""The search box's syntax: parse() is pure and never raises."""

from __future__ import annotations

import pytest

from bot.searchquery import MAX_TERMS, Fragment, SearchQuery, Term, highlighter, parse, snippet


def test_words_are_all_required() -> None:
    assert parse("neglect funding") == SearchQuery(groups=((Term("neglect"),), (Term("funding"),)))


def test_quotes_make_a_phrase() -> None:
    assert parse('"panel chair"').groups == ((Term("panel chair", phrase=True),),)


def test_or_joins_neighbours() -> None:
    assert parse("a1 OR b1 c1").groups == ((Term("a1"), Term("b1")), (Term("c1"),))


def test_lower_case_or_is_the_operator_too() -> None:
    assert parse("adoption or fostering").groups == ((Term("adoption"), Term("fostering")),)


def test_quoted_or_is_the_word() -> None:
    assert parse('adoption "or" fostering').groups[1] == (Term("or", phrase=True),)


def test_minus_excludes() -> None:
    q = parse('care -ofsted -"social media"')
    assert q.excluded == (Term("ofsted"), Term("social media", phrase=True))


def test_hyphen_inside_a_word_is_not_exclusion() -> None:
    assert parse("self-neglect").groups == ((Term("self-neglect"),),)
    assert parse("self-neglect").words == ("self", "neglect")


@pytest.mark.parametrize("q", ["", "   ", "OR", "or OR", "-", "-ofsted", "* : ^", '""', "\x00"])
def test_nothing_to_look_for_is_empty(q: str) -> None:
    assert parse(q).empty


def test_unbalanced_quote_closes_at_the_end() -> None:
    assert parse('care "panel chair').groups[1] == (Term("panel chair", phrase=True),)


def test_syntax_characters_stay_text() -> None:
    assert parse("NEAR(a1, 2)").words == ("near", "a1", "2")


def test_terms_are_bounded() -> None:
    q = parse(" ".join(f"w{n}" for n in range(500)))
    assert len(q.groups) == MAX_TERMS


def test_render_parses_back() -> None:
    q = parse('neglect OR abuse -"social media" "panel chair')
    assert parse(q.render()) == q


def test_snippet_marks_word_forms() -> None:
    pattern = highlighter(parse("neglect"))
    assert snippet(("Cases of neglected children",), pattern) == (
        Fragment("Cases of "),
        Fragment("neglected", highlighted=True),
        Fragment(" children"),
    )


def test_snippet_cuts_around_the_first_match() -> None:
    text = "word " * 200 + "neglect " + "word " * 200
    pieces = snippet((text,), highlighter(parse("neglect")), chars=60)
    assert pieces[0].text.startswith("…") and pieces[-1].text.endswith("…")
    assert sum(len(p.text) for p in pieces) <= 64
