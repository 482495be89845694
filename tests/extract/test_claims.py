"""A figure's claim, what it measures and its change, from its sentence alone."""

from __future__ import annotations

from bot.extract.claims import describe


def _describe(sentence: str, figure: str, **kw: object) -> tuple[str, str, str, str]:
    at = sentence.index(figure)
    said = describe(sentence, at, at + len(figure), **kw)  # type: ignore[arg-type]
    return said.claim, said.what, said.change, said.baseline


def test_reporting_frame_is_not_part_of_the_claim() -> None:
    claim, what, _, _ = _describe(
        "The report, published on Tuesday, found that 49% of children had experienced neglect.",
        "49%",
    )
    assert claim == "49% of children had experienced neglect"
    assert what == "children had experienced neglect"


def test_share_after_a_clause_names_its_population_first() -> None:
    _, what, _, _ = _describe("Neglect was a factor in 49% of the serious incidents.", "49%")
    assert what == "serious incidents where neglect was a factor"


def test_change_keeps_the_figure_that_changed_and_its_baseline() -> None:
    claim, what, change, base = _describe(
        "The number of carers has risen from 212 to 247 in a year.", "247"
    )
    assert claim == "The number of carers has risen from 212 to 247 in a year"
    assert (what, change, base) == ("carers", "up", "212")


def test_a_baseline_has_no_change_of_its_own() -> None:
    _, _, change, _ = _describe(
        "Notifications fell to 380, down from 447 the year before.", "447", baseline_figure=True
    )
    assert change == ""


def test_up_on_the_year_before_is_the_baseline() -> None:
    _, _, change, base = _describe("Referrals rose to 535, up 3% on the year before.", "3%")
    assert (change, base) == ("up", "the year before")


def test_an_aside_between_two_dashes_stays_in_the_claim() -> None:
    claim, _, _, _ = _describe(
        "Some 23,700 children – 41 per cent – were in poverty last year.", "41 per cent"
    )
    assert claim == "Some 23,700 children – 41 per cent – were in poverty last year"


def test_an_enumeration_is_cut_into_its_items() -> None:
    sentence = "Of these, 25 involved boys, 15 concerned girls and 14 related to infants."
    assert _describe(sentence, "15")[0] == "15 concerned girls"


def test_a_bracketed_figure_counts_the_phrase_before_it() -> None:
    _, what, _, _ = _describe("The family was known as an open case (35%).", "35%")
    assert what == "open case"


def _change_of(sentence: str, figure: str) -> str:
    at = sentence.index(figure)
    return describe(sentence, at, at + len(figure)).change


def test_what_a_population_did_is_not_the_figures_change() -> None:
    assert _change_of("The survey found 61% had cut back on food or heating.", "61%") == ""
    assert _change_of("Two in five said their caseload had risen.", "Two in five") == ""
    assert _change_of("A third of parents have given up work.", "A third") == ""


def test_up_as_a_particle_is_no_rise() -> None:
    assert _change_of("Older staff made up 13% of the workforce.", "13%") == ""
    assert _change_of("Boys were paid as little as £20 a day, up to 60 a week.", "£20") == ""


def test_up_from_after_a_predicate_is_still_the_figures_change() -> None:
    sentence = "It found 41 per cent were in poverty, up from 36 per cent five years ago."
    assert _change_of(sentence, "41 per cent") == "up"


def test_doubled_is_a_rise_and_twice_as_likely_is_none() -> None:
    assert _change_of("The number of plans has more than doubled since 2019.", "doubled") == "up"
    assert _change_of("They were twice as likely to be excluded.", "twice") == ""


def test_a_clause_without_its_subject_gets_it_back_with_an_ellipsis() -> None:
    sentence = (
        "The number of severely absent pupils – those missing half or more of their "
        "lessons – rose to 158,000, up 8% on the year before."
    )
    claim = _describe(sentence, "158,000")[0]
    assert (
        claim == "The number of severely absent pupils … rose to 158,000, up 8% on the year before"
    )


def test_the_subject_is_found_past_a_leading_adverbial() -> None:
    sentence = (
        "Over the same period, spending on late intervention – children in care, "
        "safeguarding and child protection – rose from £6.1bn to £10.9bn."
    )
    claim, _, change, baseline = _describe(sentence, "£10.9bn")
    assert claim == "spending on late intervention … rose from £6.1bn to £10.9bn"
    assert (change, baseline) == ("up", "£6.1bn")
