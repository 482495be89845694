"""Rendered digests: golden files for e-mail, platform limits for chat payloads."""

from __future__ import annotations

import json
import os
from dataclasses import replace
from datetime import UTC, datetime

import pytest

from bot import digest, render
from bot.config import SubscriptionConfig
from bot.dump import parse_dump
from bot.extract import RecurringIndex, extract
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
            extraction=extract(i.text, index),
        )
        for n, i in enumerate(items)
    ]


@pytest.fixture(scope="module")
def weekly() -> Digest:
    return digest.build(
        SUB,
        _stored(),
        {"cspr": "Community Care: CSPR panel"},
        START,
        END,
        unsubscribe="mailto:unsubscribe@example.org?subject=weekly",
    )


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


def test_slack_within_limits_and_escaped(weekly: Digest) -> None:
    odd = replace(weekly.items[0], title="Pay & <conditions> ")
    many = replace(weekly, items=(odd, *weekly.items * 8))
    payloads = [json.loads(p) for p in render.render(many, "slack").payloads]
    assert len(payloads) > 1  # 81 items do not fit one message
    for p in payloads:
        assert len(p["blocks"]) <= render.SLACK_MAX_BLOCKS
        for block in p["blocks"]:
            if block["type"] == "section":
                assert len(block["text"]["text"]) <= render.SLACK_MAX_SECTION
    first = payloads[0]["blocks"][1]["text"]["text"]
    assert "Pay &amp; &lt;conditions&gt;" in first


def test_discord_within_limits_and_cannot_ping(weekly: Digest) -> None:
    loud = replace(weekly.items[0], title="@everyone " + "x" * 400, excerpt="y" * 5000)
    many = replace(weekly, items=(loud, *weekly.items * 3))
    payloads = [json.loads(p) for p in render.render(many, "discord").payloads]
    for p in payloads:
        assert p["allowed_mentions"] == {"parse": []}
        assert len(p["embeds"]) <= render.DISCORD_MAX_EMBEDS
        assert len(p["content"]) <= render.DISCORD_MAX_CONTENT
        total = sum(
            len(e["title"]) + len(e["description"]) + len(e["footer"]["text"]) for e in p["embeds"]
        )
        assert total <= render.DISCORD_MAX_TOTAL
        for e in p["embeds"]:
            assert len(e["title"]) <= render.DISCORD_MAX_TITLE
            assert len(e["description"]) <= render.DISCORD_MAX_DESCRIPTION
    assert sum(len(p["embeds"]) for p in payloads) == 31


def test_teams_adaptive_card_within_28kb(weekly: Digest) -> None:
    many = replace(weekly, items=weekly.items * 20)
    (payload,) = render.render(many, "teams").payloads
    assert len(payload.encode()) <= render.TEAMS_MAX_BYTES
    card = json.loads(payload)["attachments"][0]
    assert card["contentType"] == "application/vnd.microsoft.card.adaptive"
    assert card["content"]["type"] == "AdaptiveCard"


def test_generic_json_schema(weekly: Digest) -> None:
    (payload,) = render.render(weekly, "json").payloads
    data = json.loads(payload)
    assert data["subscription"] == "weekly" and len(data["items"]) == 10
    assert data["period"] == {"start": "2025-03-31T07:00:00Z", "end": "2025-04-07T07:00:00Z"}
    first = data["items"][0]
    assert {"title", "link", "published", "feed", "excerpt", "figures", "quote"} <= set(first)


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


ALERTS = [(SEEN, "feed_unhealthy", "feed <cspr> & co failed 10 times: HTTP 503 @everyone")]


def test_alerts_for_slack_are_escaped() -> None:
    payload = json.loads(render.render_alerts(ALERTS, "slack"))
    text = payload["blocks"][0]["text"]["text"]
    assert "&lt;cspr&gt; &amp; co" in text and "2025-04-06 12:00 UTC feed_unhealthy" in text


def test_alerts_for_discord_cannot_ping() -> None:
    payload = json.loads(render.render_alerts(ALERTS, "discord"))
    assert payload["allowed_mentions"] == {"parse": []}
    assert len(payload["content"]) <= render.DISCORD_MAX_CONTENT


def test_alerts_for_teams_and_webhook() -> None:
    card = json.loads(render.render_alerts(ALERTS, "teams"))["attachments"][0]["content"]
    assert card["type"] == "AdaptiveCard" and "feed_unhealthy" in card["body"][1]["text"]
    body = json.loads(render.render_alerts(ALERTS, "webhook"))
    assert body == {
        "alerts": [
            {"at": "2025-04-06T12:00:00Z", "kind": "feed_unhealthy", "message": ALERTS[0][2]}
        ]
    }
