"""Each chat platform's rendering (bot/deliver/<platform>.py): the documented limits, escaping,
the one URL policy for links, admin alerts, and the registry of platforms by config kind."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from bot.config import ChannelKind
from bot.deliver import discord, slack, teams
from bot.deliver.channel import channel, preview_formats
from bot.errors import ConfigError
from bot.models import Digest
from tests.test_render import SEEN, weekly_digest

HOSTILE = "javascript:alert(document.cookie)"


@pytest.fixture
def weekly() -> Digest:
    return weekly_digest()


def _payloads(kind: str, digest: Digest) -> list[dict[str, object]]:
    return [json.loads(p) for p in channel(kind).render(digest).payloads]


def test_every_config_kind_is_one_platform_file() -> None:
    names = {kind.value: channel(kind).name for kind in ChannelKind}
    assert names == {"slack": "slack", "teams": "teams", "discord": "discord", "webhook": "webhook"}
    assert preview_formats() == ("html", "text", "slack", "teams", "discord", "json")


def test_slack_within_limits_and_escaped(weekly: Digest) -> None:
    odd = replace(weekly.items[0], title="Pay & <conditions> ")
    many = replace(weekly, items=(odd, *weekly.items * 8))
    payloads = _payloads("slack", many)
    assert len(payloads) > 1  # 81 items do not fit one message
    for p in payloads:
        blocks = p["blocks"]
        assert isinstance(blocks, list) and len(blocks) <= slack.MAX_BLOCKS
        for block in blocks:
            if block["type"] == "section":
                assert len(block["text"]["text"]) <= slack.MAX_SECTION
    first = payloads[0]["blocks"][1]["text"]["text"]  # type: ignore[index]
    assert "Pay &amp; &lt;conditions&gt;" in first


def test_discord_within_limits_and_cannot_ping(weekly: Digest) -> None:
    loud = replace(weekly.items[0], title="@everyone " + "x" * 400, excerpt="y" * 5000)
    many = replace(weekly, items=(loud, *weekly.items * 3))
    payloads = _payloads("discord", many)
    for p in payloads:
        assert p["allowed_mentions"] == {"parse": []}
        embeds = p["embeds"]
        assert isinstance(embeds, list) and len(embeds) <= discord.MAX_EMBEDS
        assert len(str(p["content"])) <= discord.MAX_CONTENT
        total = sum(
            len(e["title"]) + len(e["description"]) + len(e["footer"]["text"]) for e in embeds
        )
        assert total <= discord.MAX_TOTAL
        for e in embeds:
            assert len(e["title"]) <= discord.MAX_TITLE
            assert len(e["description"]) <= discord.MAX_DESCRIPTION
    assert sum(len(p["embeds"]) for p in payloads) == 31  # type: ignore[arg-type]


def test_teams_adaptive_card_within_28kb(weekly: Digest) -> None:
    many = replace(weekly, items=weekly.items * 20)
    (payload,) = channel("teams").render(many).payloads
    assert len(payload.encode()) <= teams.MAX_BYTES
    card = json.loads(payload)["attachments"][0]
    assert card["contentType"] == "application/vnd.microsoft.card.adaptive"
    assert card["content"]["type"] == "AdaptiveCard"


def test_generic_json_schema(weekly: Digest) -> None:
    (data,) = _payloads("webhook", weekly)
    items = data["items"]
    assert data["subscription"] == "weekly" and isinstance(items, list) and len(items) == 10
    assert data["period"] == {"start": "2025-03-31T07:00:00Z", "end": "2025-04-07T07:00:00Z"}
    assert {"title", "link", "published", "feed", "excerpt", "figures", "quote"} <= set(items[0])


def test_teams_never_links_read_them_all_to_a_hidden_scheme(weekly: Digest) -> None:
    cut = replace(weekly, items=weekly.items * 40, more_link=HOSTILE)
    (payload,) = channel("teams").render(cut).payloads
    assert "…and" in payload  # it was cut, so the "more" line is there
    assert "read them all" not in payload and "javascript" not in payload.lower()
    safe = replace(cut, more_link="https://www.communitycare.co.uk/tag/cspr/")
    assert "read them all" in channel("teams").render(safe).payloads[0]


@pytest.mark.parametrize("kind", [kind.value for kind in ChannelKind])
def test_item_links_pass_the_url_policy(weekly: Digest, kind: str) -> None:
    hostile = replace(weekly.items[0], link=HOSTILE)
    digest = replace(weekly, items=(hostile,))
    payloads = channel(kind).render(digest).payloads
    assert payloads and all("javascript" not in p.lower() for p in payloads)
    assert weekly.items[0].title.split()[0] in payloads[0]  # the title stays, as text


def test_a_broken_subscription_template_is_a_config_error(tmp_path: Path) -> None:
    (tmp_path / "slack_item.j2").write_text("{{ item.title | slack }\n")
    with pytest.raises(ConfigError, match=r"slack_item\.j2"):
        channel("slack").check(template_dir=str(tmp_path))
    channel("teams").check(template_dir=str(tmp_path))  # its template comes from the defaults


ALERTS = [(SEEN, "feed_unhealthy", "feed <cspr> & co failed 10 times: HTTP 503 @everyone")]


def test_alerts_for_slack_are_escaped() -> None:
    payload = json.loads(channel("slack").render_alerts(ALERTS))
    text = payload["blocks"][0]["text"]["text"]
    assert "&lt;cspr&gt; &amp; co" in text and "2025-04-06 12:00 UTC feed_unhealthy" in text


def test_alerts_for_discord_cannot_ping() -> None:
    payload = json.loads(channel("discord").render_alerts(ALERTS))
    assert payload["allowed_mentions"] == {"parse": []}
    assert len(payload["content"]) <= discord.MAX_CONTENT


def test_alerts_for_teams_and_webhook() -> None:
    card = json.loads(channel("teams").render_alerts(ALERTS))["attachments"][0]["content"]
    assert card["type"] == "AdaptiveCard" and "feed_unhealthy" in card["body"][1]["text"]
    body = json.loads(channel("webhook").render_alerts(ALERTS))
    assert body == {
        "alerts": [
            {"at": "2025-04-06T12:00:00Z", "kind": "feed_unhealthy", "message": ALERTS[0][2]}
        ]
    }


DISGUISED = "[https://bank.example/login](https://evil.example/phish)"


@pytest.mark.parametrize("kind", ["teams", "discord"])
def test_feed_markdown_never_becomes_a_link(weekly: Digest, kind: str) -> None:
    """Teams and Discord read markdown: a feed's title or text cannot make a disguised link."""
    item = replace(
        weekly.items[0], title=f"T]({HOSTILE}) [x", excerpt=f"Log in at {DISGUISED} today"
    )
    payload = json.dumps(_payloads(kind, replace(weekly, items=(item,))))
    assert "](https://evil.example" not in payload and f"]({HOSTILE}" not in payload
    assert "javascript:" in payload  # shown as text, escaped, not dropped


def _one_figure(weekly: Digest, claim: str, figure: str) -> Digest:
    (first, *_) = (f for i in weekly.items for f in i.figures)
    shown = replace(first, text=figure, claim=claim)
    return replace(weekly, items=(replace(weekly.items[0], figures=(shown,)),))


def test_slack_shows_the_claim_with_the_figure_in_bold(weekly: Digest) -> None:
    digest = _one_figure(weekly, "Neglect was a factor in 49% of <cases> & more", "49%")
    text = json.dumps(_payloads("slack", digest))
    assert (
        "• Neglect was a factor in *49%* of &lt;cases&gt; &amp; more"
        in json.loads(text)[0]["blocks"][1]["text"]["text"]
    )


@pytest.mark.parametrize("kind", ["teams", "discord"])
def test_markdown_platforms_show_the_claim_with_the_figure_in_bold(
    weekly: Digest, kind: str
) -> None:
    digest = _one_figure(weekly, "A *factor* in 49% of [cases]", "49%")
    payload = json.dumps(_payloads(kind, digest), ensure_ascii=False)
    assert json.dumps(r"A \*factor\* in **49%** of \[cases\]")[1:-1] in payload


def test_webhook_json_carries_each_figures_claim(weekly: Digest) -> None:
    (data,) = _payloads("webhook", weekly)
    figures = data["items"][0]["figures"]  # type: ignore[index]
    assert figures and all(f["text"] in f["claim"] for f in figures)


@pytest.mark.parametrize("kind", ["slack", "discord", "teams"])
def test_chat_posts_link_to_the_item_page(weekly: Digest, kind: str) -> None:
    page = "https://bot.example.org/item/7"
    digest = replace(weekly, items=(replace(weekly.items[0], page=page),))
    (payload,) = channel(kind).render(digest).payloads
    assert page in payload
    assert "/item/" not in channel(kind).render(replace(weekly, items=weekly.items[:1])).payloads[0]


def test_webhook_json_links_the_item_page(weekly: Digest) -> None:
    page = "https://bot.example.org/item/7"
    digest = replace(weekly, items=(replace(weekly.items[0], page=page), *weekly.items[1:]))
    items = _payloads("webhook", digest)[0]["items"]
    assert [i["page"] for i in items[:2]] == [page, ""]  # type: ignore[index]  # "": no [web]
