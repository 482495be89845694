"""Key figures: kinds, values, exclusions, exact spans."""

from __future__ import annotations

import pytest

from bot.extract import extract
from bot.models import Figure


def _figures(text: str) -> list[Figure]:
    return list(extract(text).figures)


def _texts(text: str) -> list[str]:
    return [f.text for f in _figures(text)]


def test_percent_with_what_and_sentence() -> None:
    (f,) = _figures("A poll found 71% of respondents believed it.")
    assert (f.kind, f.value, f.unit, f.what) == ("percent", 71.0, "%", "of respondents")
    assert f.sentence == "A poll found 71% of respondents believed it."


def test_money_with_multiplier_and_currency() -> None:
    figures = _figures("It left £9.5bn in pressures. Spend was £86,211 a year.")
    assert [(f.text, f.value, f.unit) for f in figures] == [
        ("£9.5bn", 9.5e9, "GBP"),
        ("£86,211", 86211.0, "GBP"),
    ]


def test_counts_decimals_words_fractions_multiples() -> None:
    text = (
        "Councils received 3,001,339 concerns. They employed 2.2 FTE staff. "
        "Fourteen reviews noted barriers. A quarter of children were absent. "
        "The proportion was three times higher. Half of cases were closed. "
        "One in five children waited."
    )
    got = {f.text: (f.kind, f.value) for f in _figures(text)}
    assert got["3,001,339"] == ("count", 3001339.0)
    assert got["2.2"] == ("decimal", 2.2)
    assert got["Fourteen"] == ("count", 14.0)
    assert got["A quarter"] == ("fraction", 0.25)
    assert got["three times"] == ("multiple", 3.0)
    assert got["Half"] == ("fraction", 0.5)
    assert got["One in five"] == ("ratio", 0.2)


def test_range_has_low_and_high() -> None:
    (f,) = _figures("Children aged 6-12 were most affected.")
    assert (f.kind, f.low, f.high, f.value) == ("range", 6.0, 12.0, None)


@pytest.mark.parametrize(
    "text",
    [
        "The review was published in 2023.",
        "Data for 2023-24 and 2018-21 were compared.",
        "She was found on 30 June 2023 at a hostel.",
        "It was initiated in October 2023, on June 19.",
        "The meeting starts at 10:30am.",
        "Under section 47 of the Children Act 1989 they acted.",
        "Under section 16C(1) of the Children Act 2004, councils must notify.",
        "It was the first time, and the 50th anniversary, the 3rd review.",
        "Send a voice note to +447887865218 today.",
        "See https://www.example.org/2024/08/05/page-12/ for more.",
        "Children’s rights charity Article 39 objected.",
        "The photo came from No 10 Downing Street.",
        "Covid-19 changed practice.",
        "One example of this concerned a child.",
        "No one was told.",
    ],
)
def test_not_figures(text: str) -> None:
    assert _texts(text) == []


def test_list_enumerators_are_not_figures() -> None:
    assert _texts("Advantages:\n\n  1. Sharing information.\n  2. Pooling 3 teams.") == ["3"]


def test_bounded_one_is_a_figure() -> None:
    assert _texts("Councils had less than one worker, at least one of them trained.") == [
        "one",
        "one",
    ]


def test_spans_are_exact() -> None:
    text = "Overall, 330 rapid reviews concerned 485 children. That was 87% of cases."
    for f in _figures(text):
        assert text[f.start : f.end] == f.text
        assert f.sentence in text


def test_findings_rank_above_ages_and_durations() -> None:
    text = (
        "The two-year-old girl died. He was jailed for 26 years. "
        "The analysis found 56% of children had experienced violence."
    )
    ranked = sorted(_figures(text), key=lambda f: -f.salience)
    assert ranked[0].text == "56%"


def test_no_figures_from_promo_boxes() -> None:
    text = (
        "Celebrate those who’ve inspired you\n\n"
        "Nominate your colleague with a few paragraphs (100-250 words) explaining why.\n\n"
        "Or sending a voice note of up to 90 seconds."
    )
    assert _texts(text) == []
