"""HTML ↔ archive text."""

from __future__ import annotations

import pytest

from bot.dump import parse_dump
from bot.htmltext import html_to_text, sanitise, text_to_html
from tests.conftest import DUMP


def test_paragraphs_become_blank_line_separated() -> None:
    assert html_to_text("<p>One  two</p>\n<p>Three</p>") == "One two\n\nThree"


def test_ordered_list_numbering_and_start() -> None:
    assert html_to_text('<ol start="3"><li>c</li><li>d</li></ol>') == "  3. c\n  4. d"


def test_line_break_inside_list_item_is_indented() -> None:
    assert html_to_text("<ul><li>a<br>b</li></ul>") == "  • a\n    b"


def test_no_break_space_is_content() -> None:
    assert html_to_text("<p>a&nbsp;b&nbsp;</p>") == "a\xa0b\xa0"


def test_scripts_and_images_dropped() -> None:
    assert html_to_text('<p>a<script>x()</script><img src="t.gif">b</p>') == "ab"


def test_plain_text_passes_through() -> None:
    assert html_to_text("Plain description only.") == "Plain description only."


@pytest.mark.parametrize("n", range(10))
def test_dump_text_round_trips_through_html(n: int) -> None:
    item = parse_dump(DUMP.read_text(encoding="utf-8"), "dump").items[n]
    assert html_to_text(sanitise(text_to_html(item.text))) == item.text


def test_sanitise_removes_javascript_links() -> None:
    assert "javascript" not in sanitise('<a href="javascript:alert(1)">x</a>')


@pytest.mark.parametrize("text", ["Plain  text\n\nstill one paragraph", " a\xa0b ", "x"])
def test_plain_text_fast_path_matches_the_parser(text: str) -> None:
    # a <span> forces the parser; without markup the shortcut answers
    assert html_to_text(text) == html_to_text(f"<span>{text}</span>")


@pytest.mark.parametrize(
    "markup", ["<html><head><title>t</title></head></html>", "<html><frameset></frameset></html>"]
)
def test_document_without_body_has_no_text(markup: str) -> None:
    # lxml.html.fragment_fromstring raised AssertionError on these
    assert html_to_text(markup) == ""


def test_leading_text_before_first_element_is_kept() -> None:
    assert html_to_text("lead <p>para</p> tail") == "lead\n\npara\n\ntail"
