"""Control characters and non-characters leave every text field; the words stay."""

from __future__ import annotations

import pytest

from bot.cleantext import clean_text


@pytest.mark.parametrize(
    ("value", "want"),
    [
        ("a\x00b\x01c\x0bd", "abcd"),
        ("tab\tand\nnewline", "tab\tand\nnewline"),
        ("crlf\r\n", "crlf\n"),
        ("C1\x85\x9f and DEL\x7f", "C1 and DEL"),
        ("lone \ud800 surrogate \ufffe\uffff", "lone  surrogate "),
        ("caf\u00e9 \u2014 \U0001f600 \u00a0", "caf\u00e9 \u2014 \U0001f600 \u00a0"),
    ],
)
def test_clean_text(value: str, want: str) -> None:
    assert clean_text(value) == want
