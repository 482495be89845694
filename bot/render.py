"""Digest → text in one format, from Jinja2 templates, within each platform's limits.

One Environment (autoescape for HTML, StrictUndefined so a template typo fails loudly).
E-mail HTML gets its CSS inlined (css-inline) and is cut to at most 100 KB with a link to the
rest. Chat payloads are JSON built here, their item text from the templates, split or cut to
the platforms' documented limits:

  Slack     50 blocks a message, 3,000 characters a section, & < > escaped
  Discord   10 embeds and 6,000 characters a message, title 256, description 4,096,
            content 2,000, allowed_mentions empty so feed text cannot ping anyone
  Teams     a Workflows webhook message carrying an Adaptive Card, at most 28 KB
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import css_inline
import jinja2

from bot.digest import shorten
from bot.export import iso
from bot.models import Digest, DigestItem, Rendered
from bot.urls import safe_url

FORMATS = ("html", "text", "slack", "teams", "discord", "json")
EMAIL_MAX_BYTES = 100 * 1024
SLACK_MAX_BLOCKS = 50
SLACK_MAX_SECTION = 3000
DISCORD_MAX_EMBEDS = 10
DISCORD_MAX_TOTAL = 6000
DISCORD_MAX_TITLE = 256
DISCORD_MAX_DESCRIPTION = 4096
DISCORD_MAX_CONTENT = 2000
TEAMS_MAX_BYTES = 28 * 1024
# Inline every rule for clients that drop <style>, and keep the <style> block too: the dark
# mode and narrow-screen @media rules cannot be inlined.
_INLINER = css_inline.CSSInliner(keep_style_tags=True)


def templates_dir() -> Path:
    """Inside the installed wheel (hatch force-include), else the source tree's templates/."""
    packaged = Path(__file__).resolve().parent / "templates"
    return packaged if packaged.is_dir() else Path(__file__).resolve().parent.parent / "templates"


@functools.lru_cache(maxsize=8)
def environment(directory: Path | None = None) -> jinja2.Environment:
    """One Environment per template directory: it caches the compiled templates (compiling
    them for every message was most of the cost of a send). A subscription's own folder
    (`template`) comes first; a template it lacks comes from the built-in ones."""
    builtin = jinja2.FileSystemLoader(str(templates_dir()))
    loader: jinja2.BaseLoader = builtin
    if directory is not None:
        loader = jinja2.ChoiceLoader([jinja2.FileSystemLoader(str(directory)), builtin])
    env = jinja2.Environment(
        loader=loader,
        autoescape=jinja2.select_autoescape(["html", "html.j2"]),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["slack"] = slack_escape
    env.filters["safe_url"] = safe_url  # the one URL policy: http(s) or "" (bot.urls)
    env.filters["quote_text"] = lambda text: str(text).rstrip(" ,")
    return env


def slack_escape(value: object) -> str:
    """Slack mrkdwn control characters (its documented escaping: &, <, >)."""
    return str(value).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def render(digest: Digest, fmt: str, template_dir: str = "") -> Rendered:
    """The digest in one format; `template_dir`: a subscription's own templates folder."""
    env = environment(Path(template_dir) if template_dir else None)
    subject = _subject(digest)
    builders: dict[str, Callable[[Digest, jinja2.Environment, str], Rendered]] = {
        "html": _html,
        "text": _text,
        "slack": _slack,
        "teams": _teams,
        "discord": _discord,
        "json": _json,
    }
    if fmt not in builders:
        raise ValueError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")
    return builders[fmt](digest, env, subject)


def _subject(digest: Digest) -> str:
    count = len(digest.items)
    return f"{digest.title}: {count} new {'item' if count == 1 else 'items'}, {_period(digest)}"


def _period(digest: Digest) -> str:
    start = digest.period_start.astimezone(UTC)
    end = digest.period_end.astimezone(UTC)
    if start.date() == end.date():
        return start.strftime("%-d %B %Y")
    return f"{start.strftime('%-d %B')} to {end.strftime('%-d %B %Y')}"


def _context(digest: Digest, subject: str, items: tuple[DigestItem, ...]) -> dict[str, Any]:
    return {
        "digest": digest,
        "subject": subject,
        "period": _period(digest),
        "items": items,
        "omitted": len(digest.items) - len(items),
        "more_link": digest.more_link,
    }


def _html(digest: Digest, env: jinja2.Environment, subject: str) -> Rendered:
    template = env.get_template("email.html.j2")
    items = digest.items
    while True:
        html = _INLINER.inline(template.render(_context(digest, subject, items)))
        if len(html.encode()) <= EMAIL_MAX_BYTES or not items:
            return Rendered(format="html", subject=subject, body=html)
        items = items[: max(0, len(items) * 3 // 4)]  # cut by a quarter until it fits


def _text(digest: Digest, env: jinja2.Environment, subject: str) -> Rendered:
    body = env.get_template("email.txt.j2").render(_context(digest, subject, digest.items))
    return Rendered(format="text", subject=subject, body=body)


def _slack(digest: Digest, env: jinja2.Environment, subject: str) -> Rendered:
    template = env.get_template("slack_item.j2")
    header = {"type": "header", "text": {"type": "plain_text", "text": shorten(subject, 150)}}
    messages: list[list[dict[str, Any]]] = [[header]]
    for item in digest.items:
        text = shorten_keep_lines(template.render(item=item), SLACK_MAX_SECTION)
        blocks: list[dict[str, Any]] = [
            {"type": "section", "text": {"type": "mrkdwn", "text": text}},
            {"type": "divider"},
        ]
        if len(messages[-1]) + len(blocks) > SLACK_MAX_BLOCKS:
            messages.append([])
        messages[-1].extend(blocks)
    payloads = tuple(
        json.dumps({"text": subject, "blocks": blocks}, ensure_ascii=False) for blocks in messages
    )
    return Rendered(format="slack", subject=subject, payloads=payloads)


def _discord(digest: Digest, env: jinja2.Environment, subject: str) -> Rendered:
    template = env.get_template("discord_item.j2")
    messages: list[list[dict[str, Any]]] = [[]]
    sizes = [0]
    for item in digest.items:
        embed: dict[str, Any] = {
            "title": shorten(item.title, DISCORD_MAX_TITLE),
            "url": item.link,
            "description": shorten_keep_lines(template.render(item=item), DISCORD_MAX_DESCRIPTION),
            "footer": {"text": shorten(item.feed_title, 200)},
        }
        if item.published:
            embed["timestamp"] = iso(item.published)
        size = len(embed["title"]) + len(embed["description"]) + len(embed["footer"]["text"])
        if len(messages[-1]) >= DISCORD_MAX_EMBEDS or sizes[-1] + size > DISCORD_MAX_TOTAL:
            messages.append([])
            sizes.append(0)
        messages[-1].append(embed)
        sizes[-1] += size
    content = shorten(subject, DISCORD_MAX_CONTENT)
    payloads = tuple(
        json.dumps(
            {
                "content": content if n == 0 else "",
                "embeds": embeds,
                "allowed_mentions": {"parse": []},
            },
            ensure_ascii=False,
        )
        for n, embeds in enumerate(messages)
    )
    return Rendered(format="discord", subject=subject, payloads=payloads)


def _teams(digest: Digest, env: jinja2.Environment, subject: str) -> Rendered:
    template = env.get_template("teams_item.j2")
    items = list(digest.items)
    while True:
        body: list[dict[str, Any]] = [
            {
                "type": "TextBlock",
                "text": subject,
                "weight": "Bolder",
                "size": "Medium",
                "wrap": True,
            },
        ]
        for item in items:
            body.append(
                {
                    "type": "TextBlock",
                    "text": f"[{item.title}]({item.link})",
                    "weight": "Bolder",
                    "wrap": True,
                    "spacing": "Large",
                }
            )
            body.append(
                {"type": "TextBlock", "text": template.render(item=item).strip(), "wrap": True}
            )
        omitted = len(digest.items) - len(items)
        if omitted:
            more = f"…and {omitted} more" + (
                f": [read them all]({digest.more_link})" if digest.more_link else ""
            )
            body.append({"type": "TextBlock", "text": more, "wrap": True})
        payload = _teams_message(body)
        if len(payload.encode()) <= TEAMS_MAX_BYTES or not items:
            return Rendered(format="teams", subject=subject, payloads=(payload,))
        items = items[: max(0, len(items) * 3 // 4)]


def _json(digest: Digest, env: jinja2.Environment, subject: str) -> Rendered:
    """The generic webhook's body; its schema is documented in docs/WEBHOOK.md."""
    payload = {
        "subscription": digest.subscription,
        "subject": subject,
        "period": {"start": iso(digest.period_start), "end": iso(digest.period_end)},
        "items": [
            {
                "title": i.title,
                "link": i.link,
                "published": iso(i.published),
                "feed": i.feed_title,
                "excerpt": i.excerpt,
                "figures": [
                    {
                        "text": f.text,
                        "what": f.what,
                        "kind": f.kind,
                        "value": f.value,
                        "sentence": f.sentence,
                    }
                    for f in i.figures
                ],
                "quote": None
                if i.quote is None
                else {"text": i.quote.text, "speaker": i.quote.speaker, "role": i.quote.role},
            }
            for i in digest.items
        ],
    }
    return Rendered(
        format="json", subject=subject, payloads=(json.dumps(payload, ensure_ascii=False),)
    )


def shorten_keep_lines(text: str, limit: int) -> str:
    """Cut multi-line text to `limit` characters at a line or word, with an ellipsis."""
    text = text.strip()
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    cut = cut.rsplit("\n", 1)[0] if "\n" in cut[limit // 2 :] else cut.rsplit(" ", 1)[0]
    return cut.rstrip() + "…"


def render_alerts(alerts: list[tuple[datetime, str, str]], kind: str) -> str:
    """Admin alerts (time, kind, message) as one message for a channel of this kind."""
    title = f"reportbot: {len(alerts)} alert{'' if len(alerts) == 1 else 's'}"
    lines = [
        f"{at.astimezone(UTC):%Y-%m-%d %H:%M} UTC {what}: {message}" for at, what, message in alerts
    ]
    if kind == "slack":
        text = shorten_keep_lines(
            "\n".join(slack_escape(line) for line in lines), SLACK_MAX_SECTION
        )
        blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": text}}]
        return json.dumps({"text": title, "blocks": blocks}, ensure_ascii=False)
    if kind == "discord":
        content = shorten_keep_lines("\n".join([title, *lines]), DISCORD_MAX_CONTENT)
        return json.dumps(
            {"content": content, "allowed_mentions": {"parse": []}}, ensure_ascii=False
        )
    if kind == "teams":
        body = [{"type": "TextBlock", "text": title, "weight": "Bolder", "wrap": True}]
        body += [{"type": "TextBlock", "text": line, "wrap": True} for line in lines]
        return _teams_message(body)
    items = [{"at": iso(at), "kind": what, "message": message} for at, what, message in alerts]
    return json.dumps({"alerts": items}, ensure_ascii=False)


def _teams_message(body: list[dict[str, Any]]) -> str:
    """A Workflows webhook message: one Adaptive Card (schema 1.4) with these elements."""
    card = {
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard",
        "version": "1.4",
        "body": body,
    }
    attachment = {"contentType": "application/vnd.microsoft.card.adaptive", "content": card}
    return json.dumps({"type": "message", "attachments": [attachment]}, ensure_ascii=False)
