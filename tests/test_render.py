"""Rendered e-mail digests: golden files, inlined CSS, the 100 KB cut, escaping. (Chat
payloads are each platform's: tests/test_deliver_platforms.py.)"""

from __future__ import annotations

import functools
import os
from dataclasses import replace
from datetime import UTC, datetime

import pytest

from bot import digest, render
from bot.config import SubscriptionConfig
from bot.dump import parse_dump
from bot.extract import RecurringIndex, extract, headline
from bot.models import Digest, StoredItem
from tests.conftest import DATA, DUMP

GOLDEN = DATA / "golden"
SEEN = datetime(2025, 4, 6, 12, 0, tzinfo=UTC)
START, END = datetime(2025, 3, 31, 7, 0, tzinfo=UTC), datetime(2025, 4, 7, 7, 0, tzinfo=UTC)
SUB = SubscriptionConfig(id="weekly", name="Safeguarding reviews", email=("a@example.org",))


def _stored() -> list[StoredItem]:
    items = parse_dump(DUMP.read_text(encoding="utf-8"), "dump").items
    index = RecurringIndex(i.text for i in items)
    return [
        StoredItem(
            id=n,
            feed_key="cspr",
            item=i,
            content_hash="h",
            previous_content_hash=None,
            first_seen=SEEN,
            last_seen=SEEN,
            extraction=extract(i.text, index, title=headline(i.title, i.summary, i.text)),
        )
        for n, i in enumerate(items)
    ]


@functools.cache
def weekly_digest() -> Digest:
    """The dump's ten articles as a weekly digest; stated as the period 31 March to 7 April
    (build states its items' own range: tests/test_digest.py), so the goldens hold still."""
    built = digest.build(
        SUB,
        _stored(),
        feed_titles={"cspr": "Community Care: CSPR panel"},
        start=START,
        end=END,
        unsubscribe="mailto:unsubscribe@example.org?subject=weekly",
    )
    return replace(built, period_start=START, period_end=END)


@pytest.fixture
def weekly() -> Digest:
    return weekly_digest()


def _golden(name: str, text: str) -> None:
    path = GOLDEN / name
    if os.environ.get("REPORTBOT_UPDATE_GOLDEN"):
        path.write_text(text, encoding="utf-8")
    assert text == path.read_text(encoding="utf-8"), f"{name} differs from its golden file"


def test_text_email_matches_golden(weekly: Digest) -> None:
    _golden("weekly.txt", render.render(weekly, "text").body)


def test_html_email_matches_golden(weekly: Digest) -> None:
    _golden("weekly.html", render.render(weekly, "html").body)


def test_subject(weekly: Digest) -> None:
    assert render.render(weekly, "text").subject == (
        "Safeguarding reviews: 10 new items, 31 March to 7 April 2025"
    )


def test_html_has_inline_css_and_no_template_leftovers(weekly: Digest) -> None:
    html = render.render(weekly, "html").body
    assert 'style="' in html and "{{" not in html and "{%" not in html
    assert "prefers-color-scheme: dark" in html  # media queries survive inlining
    assert "71%" in html and "Jahnine Davis" in html


def test_html_is_cut_to_100kb_with_a_link_to_the_rest(weekly: Digest) -> None:
    many = replace(weekly, items=weekly.items * 60, more_link="https://example.org/all")
    html = render.render(many, "html").body
    assert len(html.encode()) <= render.EMAIL_MAX_BYTES
    assert "more items this period" in html and "https://example.org/all" in html


def test_html_escapes_feed_text(weekly: Digest) -> None:
    evil = replace(weekly.items[0], title="<script>alert(1)</script>")
    html = render.render(replace(weekly, items=(evil,)), "html").body
    assert "<script>alert" not in html and "&lt;script&gt;" in html


@pytest.mark.parametrize(
    "link", ["javascript:alert(document.cookie)", "data:text/html,x", "vbscript:msgbox(1)"]
)
def test_email_shows_an_unsafe_item_link_as_text(weekly: Digest, link: str) -> None:
    """A link stored before the URL policy (a Digest built by hand keeps it): the title is
    shown without a link, and the text e-mail leaves the line out."""
    bad = replace(weekly, items=(replace(weekly.items[0], link=link),))
    html = render.render(bad, "html").body
    assert link.split(":")[0] + ":" not in html
    assert f">{weekly.items[0].title}</h2>" in html.replace("&#39;", "'")
    assert link not in render.render(bad, "text").body


def test_cut_email_shows_an_unsafe_more_link_as_text(weekly: Digest) -> None:
    many = replace(weekly, items=weekly.items * 60, more_link="javascript:alert(1)")
    html = render.render(many, "html").body
    assert "more items this period." in html and "javascript:" not in html


def test_subscription_template_folder_overrides_one_format(
    weekly: Digest, tmp_path: os.PathLike[str]
) -> None:
    from pathlib import Path

    folder = Path(tmp_path) / "mine"
    folder.mkdir()
    (folder / "email.txt.j2").write_text("{{ subject }}: {{ items | length }} items\n")
    assert render.render(weekly, "text", str(folder)).body == (
        f"{render.render(weekly, 'text').subject}: 10 items\n"
    )
    # a format the folder lacks comes from the built-in templates
    assert render.render(weekly, "html", str(folder)).body == render.render(weekly, "html").body


def test_subject_names_both_years_when_they_differ(weekly: Digest) -> None:
    start = datetime(2019, 3, 3, 9, 0, tzinfo=UTC)
    subject = render.subject(replace(weekly, period_start=start))
    assert subject.endswith("10 new items, 3 March 2019 to 7 April 2025")


def test_email_shows_the_claim_with_the_figure_in_bold(weekly: Digest) -> None:
    (first, *_) = (f for i in weekly.items for f in i.figures)
    shown = replace(first, text="49%", claim="Neglect was a factor in 49% of <cases>")
    one = replace(weekly, items=(replace(weekly.items[0], figures=(shown,)),))
    html = render.render(one, "html").body
    assert "Neglect was a factor in <strong" in html
    assert ">49%</strong> of &lt;cases&gt;</li>" in html
    assert "   * Neglect was a factor in 49% of <cases>\n" in render.render(one, "text").body


@pytest.mark.parametrize("fmt", render.EMAIL_FORMATS)
def test_email_links_each_item_to_its_page_on_the_site(weekly: Digest, fmt: str) -> None:
    page = "https://bot.example.org/item/7"
    digest = replace(weekly, items=(replace(weekly.items[0], page=page),))
    assert page in render.render(digest, fmt).body
    hostile = replace(weekly, items=(replace(weekly.items[0], page="javascript:alert(1)"),))
    assert "javascript" not in render.render(hostile, fmt).body
