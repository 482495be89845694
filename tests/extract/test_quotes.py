"""Direct quotes: marks, kinds, speakers, roles, pronouns, unbalanced input."""

from __future__ import annotations

from bot.extract import extract
from bot.models import Quote


def _quotes(text: str) -> list[Quote]:
    return list(extract(text).quotes)


def _who(text: str) -> list[tuple[str, str, str]]:
    return [(q.kind, q.speaker, q.role) for q in _quotes(text)]


def test_said_name_after_quote() -> None:
    (q,) = _quotes("“The issues are longstanding,” said panel chair Annie Hudson.")
    assert (q.kind, q.speaker, q.role) == ("full", "Annie Hudson", "panel chair")
    assert q.text == "The issues are longstanding,"


def test_name_said_colon_before_quote() -> None:
    text = "NYAS Group chief executive Rita Waters said: “Advocacy is vitally important.”"
    assert _who(text) == [("full", "Rita Waters", "NYAS Group chief executive")]


def test_appositive_role() -> None:
    text = "Andy Smith, president of the ADCS, said: “We need resources.”"
    assert _who(text) == [("full", "Andy Smith", "president of the ADCS")]


def test_pronoun_resolves_to_last_named_person() -> None:
    text = (
        "Annie Hudson said the decision was wrong.\n\n“They should have the knowledge,” she added."
    )
    assert _who(text) == [("full", "Annie Hudson", "")]


def test_bare_surname_resolves_to_full_name() -> None:
    text = "Andy Smith gave evidence.\n\nSmith warned: “It could increase exponentially.”"
    assert _quotes(text)[0].speaker == "Andy Smith"


def test_the_report_speaks_for_its_publisher() -> None:
    text = (
        "The Child Safeguarding Practice Review Panel published its report on Tuesday.\n\n"
        "“We saw many situations,” the report said."
    )
    (q,) = _quotes(text)
    assert (q.speaker, q.speaker_kind) == ("Child Safeguarding Practice Review Panel", "report")


def test_a_report_nobody_is_named_for_is_unknown() -> None:
    assert _quotes("“We saw many situations,” the report said.")[0].speaker == ""


def test_spokesperson_speaks_for_the_body() -> None:
    (q,) = _quotes("A DfE spokesperson said: “Any instance of abuse is abhorrent.”")
    assert (q.speaker, q.role, q.speaker_kind) == ("DfE", "spokesperson", "organisation")


def test_told_mps() -> None:
    text = "Andy Smith told MPs: “The workforce is insufficient.”"
    assert _quotes(text)[0].speaker == "Andy Smith"


def test_according_to() -> None:
    text = "“Thresholds are too high” for many, according to the ADCS survey."
    assert _quotes(text)[0].speaker == "ADCS"


def test_scare_quote_is_a_fragment() -> None:
    (q,) = _quotes("Reviews were “silent” about racial bias.")
    assert (q.kind, q.text) == ("fragment", "silent")


def test_multi_paragraph_quote_keeps_its_speaker() -> None:
    text = (
        "Panel chair Annie Hudson said: “Funding pressures have had an impact.\n\n"
        "“Despite these stressors, practitioners are creative.”"
    )
    quotes = _quotes(text)
    assert [q.speaker for q in quotes] == ["Annie Hudson", "Annie Hudson"]
    assert quotes[0].text == "Funding pressures have had an impact."


def test_unclosed_mark_ends_at_its_paragraph() -> None:
    text = "He said: “This never closes.\n\nThe next paragraph is reporting.\n\nMore news."
    (q,) = _quotes(text)
    assert q.text == "This never closes."


def test_straight_quotes() -> None:
    (q,) = _quotes('"We will act," said Jo Casebourne.')
    assert (q.speaker, q.text) == ("Jo Casebourne", "We will act,")


def test_headings_are_not_quotes() -> None:
    assert _quotes("‘Sea change’ needed\n\n“Race matters” to the panel\n\nText.") == []


def test_unknown_speaker_is_empty_not_a_guess() -> None:
    (q,) = _quotes("“Nobody knows who said this.”")
    assert q.speaker == ""


def test_quote_spans_are_exact() -> None:
    text = "“The systemic issues are longstanding,” said Annie Hudson. Reviews were “silent”."
    for q in _quotes(text):
        assert text[q.start : q.end] == q.text


def test_unbalanced_and_garbage_input() -> None:
    assert extract("”””“““ ” “").quotes is not None
    assert extract(bytes(range(256)).decode("latin-1")).figures == ()


def test_single_marks_with_apostrophes_inside() -> None:
    text = "She said: ‘The children’s needs come first, and councils’ budgets are stretched.’"
    (q,) = _quotes(text)
    assert q.text == "The children’s needs come first, and councils’ budgets are stretched."


def test_single_mark_after_s_closes_when_nothing_closes_later() -> None:
    (q,) = _quotes("Inspectors called the service ‘failing its councils’ in the report.")
    assert q.text == "failing its councils"


def test_nested_quotes_are_one_quote() -> None:
    text = "‘The counsellor told me, “She’s on the list,” and that was it,’ Mrs Hurst said."
    (q,) = _quotes(text)
    assert q.text.startswith("The counsellor") and q.text.endswith("that was it,")


def test_name_then_appositive_role_then_said() -> None:
    text = "“We are stretched,” Jo Bloggs, the general secretary of the Example Union, said."
    (q,) = _quotes(text)
    assert (q.speaker, q.kind) == ("Jo Bloggs", "full")
    assert q.role == "general secretary of the Example Union"


def test_role_before_name_with_has_said() -> None:
    (q,) = _quotes("“Neglect builds over months,” panel chair Jo Bloggs has said.")
    assert (q.speaker, q.role) == ("Jo Bloggs", "panel chair")


def test_surname_later_gets_the_role_from_an_earlier_appositive() -> None:
    text = (
        "Tom Adebayo, director of children’s services at Wexley Council, spoke first.\n\n"
        "“Every director will recognise this,” Adebayo said."
    )
    (q,) = _quotes(text)
    assert (q.speaker, q.role) == (
        "Tom Adebayo",
        "director of children’s services at Wexley Council",
    )


def test_the_panel_said_resolves_to_the_named_panel() -> None:
    text = (
        "The Child Safeguarding Practice Review Panel published its review.\n\n"
        "The Panel said: “One year is not a trend.”"
    )
    assert _quotes(text)[0].speaker == "Child Safeguarding Practice Review Panel"


def test_continued_quote_skips_page_furniture() -> None:
    text = (
        "Cllr Megan Ashdown said: “Every child deserves a home.\n\n"
        "Related reading: Fostering in Kestermere\n\n"
        "“We have made real progress this year.”"
    )
    quotes = _quotes(text)
    assert [q.speaker for q in quotes] == ["Megan Ashdown"] * 2
    assert "Related" not in quotes[0].text


def test_tag_after_a_multi_sentence_quote() -> None:
    text = (
        "Dev Rana has fostered for years.\n\n"
        "“People worry that they are too old. Neither is true,” he said."
    )
    assert _quotes(text)[0].speaker == "Dev Rana"


def test_straight_single_quotes_with_apostrophes() -> None:
    text = "'We can't wait, and the councils' budgets won't stretch,' said Jo Casebourne."
    (q,) = _quotes(text)
    assert q.text == "We can't wait, and the councils' budgets won't stretch,"
    assert (q.kind, q.speaker) == ("full", "Jo Casebourne")


def test_a_lone_straight_apostrophe_opens_no_quote() -> None:
    assert _quotes("Back in the '90s, rates were lower.\n\nThe figures' source is the DfE.") == []


def test_single_quote_nested_in_a_double_one_is_its_own_fragment() -> None:
    text = (
        'Panel chair Ruth Castellano said: "Time and again we read that a man was '
        "'not seen' or 'not available'. That is not good enough.\""
    )
    outer, first, second = _quotes(text)
    assert outer.speaker == "Ruth Castellano" and outer.text.endswith("not good enough.")
    assert [(q.text, q.kind, q.speaker) for q in (first, second)] == [
        ("not seen", "fragment", ""),
        ("not available", "fragment", ""),
    ]


def test_thousands_of_straight_quotes_in_one_sentence_are_each_found() -> None:
    # the text of bench/extract.py's quote-marks case: reading it used to take time
    # quadratic in the number of marks (the speed is measured there, not here)
    text = '"x" ' * 4000
    quotes = _quotes(text)
    assert len(quotes) == 4000
    assert all(q.text == "x" and text[q.start - 1 : q.end + 1] == '"x"' for q in quotes)
    assert all(len(q.sentence) < 1000 for q in quotes)


def test_a_quote_paragraph_after_reported_speech_is_that_speakers() -> None:
    text = (
        "Ruth Kaminski, chief executive of the Children’s Practice Alliance, said the "
        "findings should be a warning.\n\n“Social workers tell us this every year.”"
    )
    (q,) = _quotes(text)
    assert (q.speaker, q.role) == (
        "Ruth Kaminski",
        "chief executive of the Children’s Practice Alliance",
    )


def test_a_body_s_president_is_a_person_not_its_report() -> None:
    text = (
        "The Society of Local Finance Officers met on Monday.\n\n"
        "The society’s president, Priya Raman, said councils were raiding reserves.\n\n"
        "“Every pound is being pulled into placements.”"
    )
    assert _quotes(text)[0].speaker == "Priya Raman"


def test_a_report_introducing_a_quote_with_a_colon_speaks_for_its_publisher() -> None:
    text = (
        "The Child Safeguarding Practice Review Panel’s annual report makes the point: "
        "‘Poverty is not in itself a cause of abuse.’"
    )
    (q,) = _quotes(text)
    assert q.speaker == "Child Safeguarding Practice Review Panel"


def test_as_the_report_itself_puts_it() -> None:
    text = (
        "The Child Safeguarding Practice Review Panel published its report.\n\n"
        "As the report itself puts it: “Neglect remains the most common thread.”"
    )
    assert _quotes(text)[0].speaker == "Child Safeguarding Practice Review Panel"


def test_reported_that_clause_attributes_a_later_fragment() -> None:
    text = (
        "The Child Safeguarding Practice Review Panel published a review. The report found "
        "that six in ten of the children had been excluded from school, and that exclusion "
        'was "too often the moment a child disappeared from view".'
    )
    (q,) = _quotes(text)
    assert q.speaker == "Child Safeguarding Practice Review Panel"


def test_the_charity_s_report_speaks_for_the_charity_the_article_names() -> None:
    text = (
        "Fees rose, according to analysis by the charity Safe Homes for Children.\n\n"
        "The charity’s report, Priced Out of Care, says providers made large profits.\n\n"
        "It brands the market ‘broken’."
    )
    assert _quotes(text)[0].speaker == "Safe Homes for Children"
