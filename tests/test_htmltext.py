"""HTML ↔ archive text."""

from __future__ import annotations

import pytest

from bot.dump import parse_dump
from bot.errors import MarkupTooDeep
from bot.htmltext import (
    MAX_DEPTH,
    html_to_text,
    plain_to_text,
    sanitise,
    text_to_html,
    too_deep,
)
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


BASE = "https://news.example/feed/"


@pytest.mark.parametrize(
    "href",
    [
        "javascript:alert(1)",
        "JaVaScRiPt:alert(1)",
        "java&#9;script:alert(1)",
        "data:text/html,x",
        "vbscript:msgbox(1)",
        "file:///etc/passwd",
        "mailto:a@example.org",
    ],
)
def test_sanitise_keeps_only_http_links(href: str) -> None:
    assert sanitise(f'<a href="{href}">x</a>', base=BASE) == (
        '<a rel="noopener noreferrer nofollow">x</a>'
    )


def test_sanitise_resolves_relative_links_against_the_base() -> None:
    out = sanitise('<a href="../about">a</a><img src="/i.jpg" width="600">', base=BASE)
    assert 'href="https://news.example/about"' in out
    assert 'src="https://news.example/i.jpg"' in out


def test_sanitise_without_a_base_drops_relative_links() -> None:
    assert sanitise('<a href="/about">a</a>') == '<a rel="noopener noreferrer nofollow">a</a>'


def test_sanitise_drops_cite_urls() -> None:
    assert sanitise('<q cite="javascript:alert(1)">q</q>', base=BASE) == "<q>q</q>"


@pytest.mark.parametrize(
    "img",
    [
        '<img src="https://news.example/a.jpg" width="1" height="1">',
        '<img src="https://news.example/a.jpg" height="2px">',
        '<img src="https://tracker.example/p.gif?u=42">',
        '<img src="https://pixel.wp.com/g.gif">',
        '<img src="data:image/png;base64,iVBORw0KGgo=">',
        '<img alt="a &quot;quoted&quot; <img> alt" src="https://m.example/track/open.php">',
    ],
)
def test_sanitise_removes_tracking_images(img: str) -> None:
    assert sanitise(f"<p>a{img}b</p>", base=BASE) == "<p>ab</p>"


def test_sanitise_keeps_real_images() -> None:
    img = '<img src="https://news.example/photo.jpg" alt="Photo" width="600" height="400">'
    assert sanitise(img, base=BASE) == img


def test_nesting_beyond_the_limit_is_refused_before_the_sanitiser() -> None:
    deep = "<div>" * 100_000 + "x" + "</div>" * 100_000
    assert too_deep(deep)
    with pytest.raises(MarkupTooDeep, match="nested more than 200 levels"):
        sanitise(deep)


def test_nesting_at_the_limit_is_sanitised() -> None:
    markup = "<div>" * MAX_DEPTH + "x" + "</div>" * MAX_DEPTH
    assert not too_deep(markup)
    assert sanitise(markup).count("<div>") == MAX_DEPTH


def test_plain_text_is_literal_with_paragraphs() -> None:
    assert plain_to_text("Why <canvas>  beats\nFlash &amp;\n\n Two ") == (
        "Why <canvas> beats Flash &amp;\n\nTwo"
    )


def test_plain_text_title_is_one_line() -> None:
    assert plain_to_text("One\n\nline", paragraphs=False) == "One line"
