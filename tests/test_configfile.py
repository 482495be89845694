"""Config edits keep every comment and blank line, work from no feeds, and are atomic."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import tomlkit

from bot.cli.configfile import append_table, read_toml, remove_table, tables, write_checked
from bot.errors import ConfigError
from tests.conftest import ROOT

EXAMPLE = (ROOT / "config" / "reportbot.example.toml").read_text(encoding="utf-8")
FEED = {"id": "cspr", "url": "https://www.communitycare.co.uk/feed/"}


def _comments(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.lstrip().startswith("#")]


def _edit(text: str, action: str, **kw: object) -> str:
    doc = tomlkit.parse(text)
    if action == "remove":
        remove_table(doc, "feeds", int(kw.get("index", 0)))  # type: ignore[call-overload]
    else:
        append_table(doc, "feeds", dict(kw["entry"]))  # type: ignore[call-overload]
    return doc.as_string()


def test_removing_the_only_feed_keeps_every_comment() -> None:
    after = _edit(EXAMPLE, "remove")
    assert _comments(after) == _comments(EXAMPLE)
    assert "\n[[feeds]]" not in after and "feeds = []" not in after


def test_remove_add_remove_round_trip_is_exact() -> None:
    once = _edit(EXAMPLE, "remove")
    again = _edit(_edit(once, "add", entry=FEED), "remove")
    assert again == once


def test_add_after_the_last_feed_goes_before_the_comments_that_follow_it() -> None:
    after = _edit(EXAMPLE, "add", entry={"id": "two", "url": "https://x.example/feed/"})
    assert after.index('id = "two"') < after.index("# Outgoing mail")
    assert _comments(after) == _comments(EXAMPLE)
    assert [t["id"] for t in tomlkit.parse(after)["feeds"]] == ["cspr", "two"]  # type: ignore[union-attr]


def test_removing_the_first_of_two_keeps_the_second_and_the_comments() -> None:
    two = _edit(EXAMPLE, "add", entry={"id": "two", "url": "https://x.example/feed/"})
    after = _edit(two, "remove", index=0)
    assert _comments(after) == _comments(EXAMPLE)
    assert [t["id"] for t in tomlkit.parse(after)["feeds"]] == ["two"]  # type: ignore[union-attr]


def test_removing_the_second_of_two_keeps_the_comments() -> None:
    two = _edit(EXAMPLE, "add", entry={"id": "two", "url": "https://x.example/feed/"})
    after = _edit(two, "remove", index=1)
    assert after == EXAMPLE


def test_add_works_from_an_empty_inline_list() -> None:
    after = _edit('feeds = []\n\n[archive]\nurl = "sqlite:///x.db"\n', "add", entry=FEED)
    parsed = tomlkit.parse(after).unwrap()
    assert parsed["feeds"] == [FEED] and parsed["archive"] == {"url": "sqlite:///x.db"}


def test_add_to_a_file_without_feeds_or_tables() -> None:
    after = _edit("# only a comment\n", "add", entry=FEED)
    assert after.startswith("# only a comment\n") and tomlkit.parse(after)["feeds"] == [FEED]


def test_tables_refuses_an_inline_list_of_feeds() -> None:
    doc = tomlkit.parse('feeds = [{id = "a", url = "https://x.example/"}]\n')
    with pytest.raises(ConfigError, match=r"\[\[feeds\]\] tables"):
        tables(doc, "feeds")


def test_write_checked_keeps_the_mode_and_leaves_no_temporary_file(tmp_path: Path) -> None:
    path = tmp_path / "rb.toml"
    path.write_text(EXAMPLE, encoding="utf-8")
    os.chmod(path, 0o600)
    doc = read_toml(path)
    remove_table(doc, "feeds", 0)
    write_checked(path, doc)
    assert os.stat(path).st_mode & 0o777 == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["rb.toml"]


def test_write_checked_refuses_an_invalid_result_and_leaves_the_file(tmp_path: Path) -> None:
    path = tmp_path / "rb.toml"
    path.write_text(EXAMPLE, encoding="utf-8")
    doc = read_toml(path)
    append_table(doc, "feeds", {"id": "cspr", "url": "https://dup.example/"})
    with pytest.raises(ConfigError, match=r"used by another feed.*file left unchanged"):
        write_checked(path, doc)
    assert path.read_text(encoding="utf-8") == EXAMPLE
    assert [p.name for p in tmp_path.iterdir()] == ["rb.toml"]
