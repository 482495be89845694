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


def test_the_report_said_and_spokesperson() -> None:
    text = (
        "“We saw many situations,” the report said.\n\n"
        "A DfE spokesperson said: “Any instance of abuse is abhorrent.”"
    )
    assert [q.speaker for q in _quotes(text)] == ["report", "DfE spokesperson"]


def test_told_mps() -> None:
    text = "Andy Smith told MPs: “The workforce is insufficient.”"
    assert _quotes(text)[0].speaker == "Andy Smith"


def test_according_to() -> None:
    text = "“Thresholds are too high” for many, according to the ADCS survey."
    assert _quotes(text)[0].speaker == "ADCS survey"


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


def test_verb_positions_match_a_word_bounded_regex() -> None:
    """The substring search finds exactly what the plain regex finds, on the dump and on
    text that glues verbs to letters, digits, underscores and each other."""
    import random
    import re

    from bot.dump import parse_dump
    from bot.extract.quotes import _VERBS, verb_positions
    from tests.conftest import DUMP

    oracle = re.compile(rf"(?:{_VERBS})\b")

    def expected(text: str) -> list[int]:
        return [
            m.start()
            for m in oracle.finditer(text)
            if not text[m.start() - 1 : m.start()].isalnum()
        ]

    texts = [i.text for i in parse_dump(DUMP.read_text(encoding="utf-8"), "d").items]
    rng = random.Random(3)
    pieces = [*_VERBS.split("|"), "x", "_", "9", " ", ", ", "“", "é", "pointed", "out", "went"]
    texts += ["".join(rng.choice(pieces) for _ in range(400)) for _ in range(200)]
    for text in texts:
        assert verb_positions(text) == expected(text)
