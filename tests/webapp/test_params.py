"""A page's query string read into filters (bot.webapp.params)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from bot.webapp.params import BadParam, Filters, filters


def test_nothing_given_is_no_filter() -> None:
    assert filters({}) == Filters()
    assert not Filters().narrowed


def test_days_cover_whole_days_in_utc() -> None:
    got = filters({"since": "2025-03-01", "until": "2025-03-31"})
    assert got.since_at == datetime(2025, 3, 1, tzinfo=UTC)
    assert got.until_at == datetime(2025, 4, 1, tzinfo=UTC)  # the 31st included
    assert got.narrowed


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"since": "31/03/2025"}, "since: '31/03/2025' is not a date like 2025-03-31"),
        ({"until": "soon"}, "until: 'soon' is not a date"),
        ({"since": "2025-04-01", "until": "2025-03-01"}, "“from” (2025-04-01) is after “to”"),
    ],
)
def test_a_value_that_is_no_date_is_one_line(params: dict[str, str], message: str) -> None:
    with pytest.raises(BadParam) as raised:
        filters(params)
    assert str(raised.value).startswith(message)


def test_words_and_speaker_are_trimmed_and_bounded() -> None:
    got = filters({"q": "  neglect  ", "speaker": " Annie   Hudson ", "q2": "x"})
    assert (got.q, got.speaker) == ("neglect", "Annie Hudson")
    assert len(filters({"q": "a" * 5000}).q) == 1000


@pytest.mark.parametrize("value", ["1", "on", "true", "yes"])
def test_has_figures_reads_a_checkbox(value: str) -> None:
    assert filters({"figures": value}).has_figures
    assert not filters({"figures": "0"}).has_figures


def test_query_keeps_the_filters_and_replaces_the_cursor() -> None:
    got = Filters(q="a b", feed="f", since=date(2025, 1, 2), has_figures=True, cursor="old")
    assert got.query() == "q=a+b&feed=f&since=2025-01-02&figures=1"
    assert got.query(cursor="next") == "q=a+b&feed=f&since=2025-01-02&figures=1&cursor=next"
