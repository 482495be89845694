"""The supplied dump, read field by field against hand-labelled expectations."""

from __future__ import annotations

import json
from dataclasses import fields
from pathlib import Path

import pytest

from bot.dump import looks_like_dump, parse_dump
from bot.errors import ParseError
from bot.export import iso
from bot.models import Item, ParsedFeed
from tests.conftest import DATA, DUMP

EXPECTED = json.loads((DATA / "dump_expected.json").read_text(encoding="utf-8"))
LINES = DUMP.read_text(encoding="utf-8").split("\n")


@pytest.fixture(scope="module")
def parsed() -> ParsedFeed:
    return parse_dump(DUMP.read_text(encoding="utf-8"), str(DUMP))


def _between(start: int, end: int) -> list[str]:
    """File lines strictly between two 1-based line numbers."""
    return LINES[start : end - 1]


def test_dump_has_exactly_ten_items(parsed: ParsedFeed) -> None:
    assert len(parsed.items) == 10


def test_feed_fields(parsed: ParsedFeed) -> None:
    feed = EXPECTED["feed"]
    assert (parsed.feed.title, parsed.feed.link) == (feed["title"], feed["link"])
    assert (parsed.feed.description, parsed.feed.language) == (
        feed["description"],
        feed["language"],
    )


@pytest.mark.parametrize("n", range(10))
def test_record_metadata(parsed: ParsedFeed, n: int) -> None:
    want, item = EXPECTED["records"][n], parsed.items[n]
    for name in (
        "title",
        "link",
        "guid",
        "comments_url",
        "comments_count",
        "image_url",
        "image_credit",
    ):
        assert getattr(item, name) == want[name], name
    assert iso(item.published) == want["published"]


@pytest.mark.parametrize("n", range(10))
def test_record_excerpt_is_exact(parsed: ParsedFeed, n: int) -> None:
    want = EXPECTED["records"][n]
    first_end = want["cdata_ends"][0]
    assert parsed.items[n].summary == "\n".join(_between(want["header_line"], first_end)).strip()


@pytest.mark.parametrize("n", range(10))
def test_record_body_is_exact(parsed: ParsedFeed, n: int) -> None:
    start, end = EXPECTED["records"][n]["cdata_ends"]
    assert parsed.items[n].text == "\n".join(_between(start, end)).strip("\n")


def test_body_keeps_list_items(parsed: ParsedFeed) -> None:
    assert "\n  1. Making it much easier" in parsed.items[3].text
    assert "\n  • 87% of families" in parsed.items[4].text


def test_spam_token_reaches_no_field(parsed: ParsedFeed) -> None:
    junk = LINES[0].split(" ")[0]  # the token injected before every record
    for item in parsed.items:
        for f in fields(Item):
            value = getattr(item, f.name)
            assert not (isinstance(value, str) and junk in value), f.name
    assert junk not in parsed.feed.title


def test_published_is_utc(parsed: ParsedFeed) -> None:
    assert all(i.published and i.published.utcoffset() is not None for i in parsed.items)
    assert all(i.published.utcoffset().total_seconds() == 0 for i in parsed.items)  # type: ignore[union-attr]


def test_other_junk_token_is_recognised_by_structure() -> None:
    text = DUMP.read_text(encoding="utf-8").replace(LINES[0].split(" ")[0], "BUY-CHEAP-PILLS")
    parsed = parse_dump(text, "other-junk")
    assert parsed.items[0].title.startswith("Racial bias")
    assert all("BUY-CHEAP-PILLS" not in i.title for i in parsed.items)


def test_dump_of_one_record(tmp_path: Path) -> None:
    text = "\n".join(LINES[: EXPECTED["records"][0]["cdata_ends"][1] + 1])
    parsed = parse_dump(text, "one")
    assert [i.guid for i in parsed.items] == ["https://www.communitycare.co.uk/?p=216724"]
    assert parsed.items[0].title == EXPECTED["records"][0]["title"]


def test_truncated_record_names_its_line() -> None:
    text = "\n".join(LINES[:150])  # cut inside the third record's body
    with pytest.raises(ParseError, match=r":102: record is truncated"):
        parse_dump(text, "cut")


def test_looks_like_dump_rejects_xml() -> None:
    assert looks_like_dump(DUMP.read_text(encoding="utf-8"))
    assert not looks_like_dump((DATA / "wordpress-rss20.xml").read_text(encoding="utf-8"))


def test_control_characters_are_stripped() -> None:
    title = EXPECTED["records"][0]["title"]
    spiked = title[:6] + "\x01\x0b" + title[6:]
    text = DUMP.read_text(encoding="utf-8").replace(title, spiked, 1).replace("\n", "\r\n")
    parsed = parse_dump(text, "controls")
    assert parsed.items[0].title == title
    assert parsed.items[0].text == parse_dump(DUMP.read_text(encoding="utf-8"), "d").items[0].text
