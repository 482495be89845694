"""Blocks, sentences and boilerplate."""

from __future__ import annotations

import pytest

from bot.dump import parse_dump
from bot.extract.text import Article, RecurringIndex, analyse, split_sentences
from tests.conftest import DUMP

ITEMS = parse_dump(DUMP.read_text(encoding="utf-8"), "dump").items


def _sentences(text: str) -> list[str]:
    return [text[s:e] for s, e in split_sentences(text, 0, len(text))]


def _kept(article: Article) -> str:
    return "\n".join(article.span(b.start, b.end) for b in article.blocks if not b.boilerplate)


def test_abbreviation_does_not_end_a_sentence() -> None:
    assert _sentences("Dr. Jo Casebourne spoke. Then she left.") == [
        "Dr. Jo Casebourne spoke.",
        "Then she left.",
    ]


def test_decimals_and_money_do_not_split() -> None:
    text = "It left £9.5bn in pressures. Staff numbered 2.2 FTE."
    assert _sentences(text) == ["It left £9.5bn in pressures.", "Staff numbered 2.2 FTE."]


def test_quote_closing_after_full_stop_stays_with_its_sentence() -> None:
    text = "“It is vital.” She said more. “Again.”"
    assert _sentences(text) == ["“It is vital.”", "She said more.", "“Again.”"]


def test_lower_case_after_full_stop_is_no_new_sentence() -> None:
    assert len(_sentences("The rate was 5 p.c. of all cases. Next.")) == 2


def test_heading_without_full_stop_is_a_heading() -> None:
    article = analyse("Lack of staff in local authorities\n\nSmith said it was hard.")
    assert [b.kind for b in article.blocks] == ["heading", "paragraph"]


def test_list_items_are_blocks_of_their_own() -> None:
    article = analyse("Findings:\n\n  • 87% of families\n  • 49% of children")
    assert [b.kind for b in article.blocks] == ["paragraph", "list_item", "list_item"]


def test_promo_box_is_boilerplate_by_rule() -> None:
    kept = _kept(analyse(ITEMS[0].text))
    assert "Celebrate those who’ve inspired you" not in kept
    assert "Nominate your colleague" not in kept
    assert "anastasia.koutsounia" not in kept
    assert "Photo by Daniel Laflor" not in kept
    assert "71% of respondents" in kept


def test_poll_note_line_is_split_off_and_dropped() -> None:
    kept = _kept(analyse(ITEMS[1].text))
    assert "poll embedded" not in kept
    assert kept.startswith("A “sea change” is needed")


def test_inform_advert_section_is_boilerplate() -> None:
    kept = _kept(analyse(ITEMS[4].text))
    assert "Kelechi Ukandu" not in kept  # the advert's second paragraph matches no rule
    assert "Under section 16C(1)" in kept  # the next real section survives


def test_name_repeated_as_caption_is_boilerplate() -> None:
    kept = _kept(analyse(ITEMS[1].text))
    assert "\nJahnine Davis\n" not in f"\n{kept}\n"
    assert "Race and safeguarding expert Jahnine Davis" in kept


def test_image_alt_text_credit_and_file_name_are_boilerplate() -> None:
    kept = _kept(analyse(ITEMS[7].text))
    assert "Girl looking sad" not in kept and "Erika Richard" not in kept
    assert ".jpg" not in kept and "Krasimira" not in kept


def test_recurring_paragraph_with_new_wording_is_caught() -> None:
    promo = "Join our brand new reader panel and tell us what you think of the magazine today"
    leads = ["Councils face cuts.", "The panel reported today.", "Ofsted visited Derby."]
    texts = [f"{lead}\n\n{promo}" for lead in leads]
    index = RecurringIndex(texts)
    article = analyse(texts[0], index)
    assert [b.boilerplate for b in article.blocks] == [False, True]


def test_paragraph_shared_by_only_two_items_is_kept() -> None:
    shared = "The panel found that race was often not recognised by practitioners in reviews."
    texts = [f"Story one.\n\n{shared}", f"Story two.\n\n{shared}", "Story three."]
    article = analyse(texts[0], RecurringIndex(texts))
    assert not any(b.boilerplate for b in article.blocks)


def test_html_input_is_detected() -> None:
    article = analyse("<p>First paragraph.</p><p>Second.</p>")
    assert article.text == "First paragraph.\n\nSecond."


@pytest.mark.parametrize("text", ["", "   ", "no sentence at all", "“", "\x00\x01\x02" * 50])
def test_degenerate_input_does_not_crash(text: str) -> None:
    analyse(text)
