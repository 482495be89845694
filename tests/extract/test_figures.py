"""Key figures: kinds, values, exclusions, exact spans."""

from __future__ import annotations

import pytest

from bot.extract import extract, headline, top_figures
from bot.models import Figure


def _figures(text: str) -> list[Figure]:
    return list(extract(text).figures)


def _texts(text: str) -> list[str]:
    return [f.text for f in _figures(text)]


def test_percent_with_what_and_sentence() -> None:
    (f,) = _figures("A poll found 71% of respondents believed it.")
    assert (f.kind, f.value, f.unit, f.what) == ("percent", 71.0, "%", "respondents believed it")
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
    (f,) = _figures("Fees ranged from £6,000 to £41,000 per review.")
    assert (f.kind, f.low, f.high, f.value, f.text) == (
        "range",
        6000.0,
        41000.0,
        None,
        "£6,000 to £41,000",
    )


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


@pytest.mark.parametrize(
    "text",
    [
        "Children aged 6-12 were most affected.",
        "A drug dealer groomed boys aged between 12 and 16.",
        "The six-year-old was taken into care.",
        "Families had a child aged five or under.",
        "Liam Carver, 27, of Heathside Road, was jailed.",
        "Warnings were raised for ten years.",
        "The three-week inspection ended.",
        "Call the helpline on 0800 640 3319 today.",
        "Spending rose between 2007/8 to 2017/18 in real terms.",
        "The charity wants the two-child limit scrapped.",
        "Please donate £20 to the appeal.",
        "The family moved area twice.",
        "Written question 48217 was answered.",
    ],
)
def test_not_amounts(text: str) -> None:
    assert _texts(text) == []


def test_seventy_two_per_cent_is_a_percent() -> None:
    (f,) = _figures("Seventy two per cent said their caseload was unmanageable.")
    assert (f.text, f.kind, f.value) == ("Seventy two per cent", "percent", 72.0)


def test_more_than_double_is_a_multiple() -> None:
    (f,) = _figures("The bill has more than doubled since 2010.")
    assert (f.kind, f.value, f.change) == ("multiple", 2.0, "up")


def test_six_in_ten_is_a_ratio_with_a_what() -> None:
    (f,) = _figures("Six in ten rapid reviews cited a failure to pass on concerns.")
    assert (f.kind, f.value) == ("ratio", 0.6)
    assert f.what == "rapid reviews cited a failure to pass on concerns"


def test_claim_is_the_clause_without_the_reporting_frame() -> None:
    text = (
        "In all, 52% of the notifications concerned children aged under five, while infants "
        "accounted for 31% of all cases."
    )
    first, second = _figures(text)
    assert first.claim == "52% of the notifications concerned children aged under five"
    assert second.claim == "infants accounted for 31% of all cases"


def test_change_has_direction_and_baseline() -> None:
    (f, base) = _figures("The panel received 412 notifications, down from 447 the year before.")
    assert (f.change, f.baseline) == ("down", "447 the year before")
    assert base.change == "" and base.salience < f.salience


def test_from_to_after_a_change_verb_is_two_figures() -> None:
    texts = _texts("The number of carers has risen from 212 to 247 in a year.")
    assert texts == ["212", "247"]


def test_money_range_is_one_figure() -> None:
    (f,) = _figures("Child poverty costs an estimated £13.9bn to £18.6bn a year.")
    assert (f.kind, f.low, f.high) == ("range", 13.9e9, 18.6e9)


def test_sample_size_is_not_core() -> None:
    text = "The report, based on an analysis of 246 rapid reviews, found 49% involved neglect."
    sample, finding = _figures(text)
    assert (sample.core, finding.core) == (False, True)


def test_headline_figure_ranks_first() -> None:
    text = (
        "Around 2,500 staff were trained. Councils spent £3m on the scheme.\n\n"
        "Neglect was a factor in 49% of serious incidents, the report found."
    )
    article = extract(text, title="Neglect a factor in 49% of serious incidents")
    assert top_figures(article, 1)[0].text == "49%"


def test_top_figures_never_repeat_a_claim() -> None:
    text = "Some 289, or 54%, of reviews identified neglect."
    shown = top_figures(extract(text), 3)
    assert len({f.claim for f in shown}) == len(shown)


def test_headline_takes_a_standfirst_of_its_own() -> None:
    text = "It found 71% of councils had cut early help."
    assert headline("Waits grow", "38% of families wait a year", text) == (
        "Waits grow\n\n38% of families wait a year"
    )


def test_headline_leaves_out_a_summary_that_is_the_articles_opening() -> None:
    text = "It found 71% of councils had cut early help.\n\nMore text follows."
    assert headline("Waits grow", "It found 71% of councils had cut early…", text) == "Waits grow"


def test_thousands_of_figures_in_one_sentence_each_keep_a_short_sentence() -> None:
    # the figures of a sentence with no full stop were each given all of it (quadratic)
    text = "£5m, " * 3000
    figures = extract(text).figures
    assert [f.text for f in figures] == ["£5m"] * 3000
    assert max(len(f.sentence) for f in figures) < 1000


@pytest.mark.parametrize(
    "text",
    [
        "Linda Okonjo has cared for her grandsons since they were three and six.",
        "Marcus Oyelaran, whose son was 11 when he was referred, said he was relieved.",
        "Jo Pickering, whose son, now 17, lived at one of the homes, spoke out.",
        "The scheme lets young people stay with their foster carers after 18.",
        "One in five of the children referred was under 14.",
    ],
)
def test_ages_said_without_aged_are_not_figures(text: str) -> None:
    assert not [f for f in _figures(text) if f.kind == "count"]


def test_household_sizes_are_not_figures() -> None:
    text = (
        "Families with three or more children are hardest hit, said Ms Ellery, a mother of three."
    )
    assert _texts(text) == []


def test_ordinal_and_duration_fractions_are_not_figures() -> None:
    assert _texts("The limit restricts support for a third or subsequent child.") == []
    assert _texts("The gap has widened this much in a decade and a half.") == []
    assert _texts("She waited two and a half years for a place.") == []


def test_figure_and_table_numbers_are_not_figures() -> None:
    assert _texts("Figure 3: Agency workers by region. Table 2 shows the rest.") == []


@pytest.mark.parametrize(
    ("text", "figure"),
    [
        ("“I left because I was holding 30 cases,” she said.", "30"),
        ("The boys were sent to towns up to 60 miles away.", "60"),
        ("The Government has set up 18 attendance hubs.", "18"),
        ("The union wants councils to sign a charter capping caseloads at 18 children.", "18"),
    ],
)
def test_story_distance_and_policy_counts_are_narrative(text: str, figure: str) -> None:
    (found,) = [f for f in _figures(text) if f.text == figure]
    assert found.core is False


def test_the_base_of_a_rate_is_not_a_figure() -> None:
    assert _texts("Rates rose from 94 per 10,000 children to 120 per 10,000.") == ["94", "120"]


def test_four_in_every_five_is_one_ratio() -> None:
    (ratio,) = _figures("Late intervention takes four in every five pounds councils spend.")
    assert (ratio.text, ratio.kind, ratio.value) == ("four in every five", "ratio", 0.8)


def test_one_in_a_phrase_is_not_a_figure() -> None:
    assert _texts("It deserves to be treated as one in the forthcoming strategy.") == []


@pytest.mark.parametrize(
    ("text", "figure"),
    [
        ("Hearthstone supports families through its 48 family centres in England.", "48"),
        ("Dev Rana, who has fostered 19 children with his wife, spoke at the launch.", "19"),
        ("In the 64 councils that shared data, the share rose to 27%.", "64"),
        ("The review looked at 147 serious incidents notified last year.", "147"),
        ("The survey received 1,140 responses from young people.", "1,140"),
    ],
)
def test_inventory_story_and_sample_counts_are_narrative(text: str, figure: str) -> None:
    (found,) = [f for f in _figures(text) if f.text == figure]
    assert found.core is False


def test_the_whole_of_a_share_stays_core() -> None:
    text = "The survey found that six of its ten posts had been vacant for a year."
    assert [f.core for f in _figures(text)] == [True, True]


@pytest.mark.parametrize(
    ("text", "figure"),
    [
        ("The number of youth centres in the borough fell from 14 to five.", "five"),
        ("Concerns were raised 27 times, but only six led to a strategy meeting.", "six"),
        ("The boy had been allocated four different social workers in a year.", "four"),
        ("Nine posts are vacant, and five of those are covered by agency staff.", "five"),
        ("The council accepted all nine of the review’s recommendations.", "nine"),
        ("By 2022/23 that had fallen to £2.4bn, a cut of a third in cash terms.", "£2.4bn"),
        ("Our analysis of council spending estimates that £1.8bn a year is lost.", "£1.8bn"),
        ("Of the late reviews, 58% made recommendations about supervision.", "58%"),
    ],
)
def test_findings_that_read_like_details_are_core(text: str, figure: str) -> None:
    (found,) = [f for f in _figures(text) if f.text == figure]
    assert found.core is True
