"""Digest → e-mail text and HTML from Jinja2 templates; the pieces every format shares.

One Environment per template folder (autoescape for HTML, StrictUndefined so a template typo
fails loudly). E-mail HTML gets its CSS inlined (css-inline) and is cut to at most 100 KB
with a link to the rest. Chat payloads are each platform's own (bot/deliver/<platform>.py):
they use `environment`, `subject`, `outgoing_digest` and `shorten_keep_lines` from here.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import css_inline
import jinja2

from bot.errors import ConfigError
from bot.models import Digest, DigestItem, Rendered, claim_parts
from bot.urls import safe_url

EMAIL_FORMATS = ("html", "text")
EMAIL_TEMPLATES = ("email.html.j2", "email.txt.j2")
EMAIL_MAX_BYTES = 100 * 1024
# Inline every rule for clients that drop <style>, and keep the <style> block too: the dark
# mode and narrow-screen @media rules cannot be inlined.
_INLINER = css_inline.CSSInliner(keep_style_tags=True)
Alert = tuple[datetime, str, str]  # when, kind, message


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
    env.filters["safe_url"] = safe_url  # the one URL policy: http(s) or "" (bot.urls)
    env.filters["quote_text"] = lambda text: str(text).rstrip(" ,")
    env.filters["md"] = markdown_text
    env.filters["claim"] = claim_parts  # (before, figure, after): the figure set in bold
    return env


# CommonMark's punctuation that starts emphasis, code, links, headings, quotes, tables.
_MARKDOWN = re.compile(r"([\\`*_\[\]#>~|<])")


def markdown_text(value: object) -> str:
    """Feed text made literal for a chat platform that reads markdown (Teams, Discord): each
    markdown character backslash-escaped, so `[bank](https://evil.example)` in a title or an
    article cannot become a disguised link. The `(` after a `]` is escaped too, so that even
    a renderer that ignores escapes finds no `](` standing together; other brackets stay
    as written ("(24%)" reads as it should)."""
    return _MARKDOWN.sub(r"\\\1", str(value)).replace("\\](", "\\]\\(")


def template(name: str, *, template_dir: str = "") -> jinja2.Template:
    """One template, from the subscription's folder first (compiled once per folder)."""
    return environment(Path(template_dir) if template_dir else None).get_template(name)


def check_templates(
    names: Sequence[str], *, template_dir: str = "", env: jinja2.Environment | None = None
) -> None:
    """Raise ConfigError unless every template compiles (a precondition of a send: a broken
    template is found before anything is claimed, not message by message). `env`: a
    platform's own environment (its filters), else the folder's."""
    env = env or environment(Path(template_dir) if template_dir else None)
    for name in names:
        try:
            env.get_template(name)
        except jinja2.TemplateError as exc:
            where = f"{template_dir or 'templates'}/{name}"
            raise ConfigError(f"template {where}: {exc}") from exc


def render(digest: Digest, fmt: str, template_dir: str = "") -> Rendered:
    """The e-mail in one format (html or text); `template_dir`: a subscription's own
    templates folder."""
    env = environment(Path(template_dir) if template_dir else None)
    if fmt not in EMAIL_FORMATS:
        raise ValueError(f"unknown e-mail format {fmt!r}; choose one of {EMAIL_FORMATS}")
    digest = outgoing_digest(digest)  # a subscription's own templates get safe links too
    return (_html if fmt == "html" else _text)(digest, env, subject(digest))


def subject(digest: Digest) -> str:
    count = len(digest.items)
    return f"{digest.title}: {count} new {'item' if count == 1 else 'items'}, {_period(digest)}"


def outgoing_digest(digest: Digest) -> Digest:
    """The digest with every link passed through the one URL policy, for every format: a
    chat payload turns links into buttons and markdown, an e-mail into anchors (the
    built-in templates filter links again; a subscription's own templates may not)."""
    items = tuple(replace(i, link=safe_url(i.link), page=safe_url(i.page)) for i in digest.items)
    return replace(digest, items=items, more_link=safe_url(digest.more_link))


def alert_lines(alerts: Sequence[Alert]) -> tuple[str, list[str]]:
    """Admin alerts as a title and one line each, for any channel."""
    title = f"reportbot: {len(alerts)} alert{'' if len(alerts) == 1 else 's'}"
    lines = [
        f"{at.astimezone(UTC):%Y-%m-%d %H:%M} UTC {what}: {message}" for at, what, message in alerts
    ]
    return title, lines


def _period(digest: Digest) -> str:
    start = digest.period_start.astimezone(UTC)
    end = digest.period_end.astimezone(UTC)
    if start.date() == end.date():
        return start.strftime("%-d %B %Y")
    if start.year != end.year:  # "21 February to 1 December" hid that they were years apart
        return f"{start.strftime('%-d %B %Y')} to {end.strftime('%-d %B %Y')}"
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


def shorten_keep_lines(text: str, limit: int) -> str:
    """Cut multi-line text to `limit` characters at a line or word, with an ellipsis."""
    text = text.strip()
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    cut = cut.rsplit("\n", 1)[0] if "\n" in cut[limit // 2 :] else cut.rsplit(" ", 1)[0]
    return cut.rstrip() + "…"
