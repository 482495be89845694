"""Reader for the flattened feed-dump format (the supplied archive), producing a `ParsedFeed`.

A dump is an RSS document whose markup was flattened to text, one record per item:

    JUNK <channel title> <channel link> <description> <date> [lang period freq generator]
        JUNK <header>              (all on the first line)
    <excerpt lines>
    ]]>
    <body paragraphs, blank-line separated>
    ]]>
    [<comments feed URL> <count>] <image URL> <site name> <image credit>
    JUNK <next header> ...

with <header> = <title> <link> [<comments link>] <RFC 822 date> <guid>. JUNK is text injected
before every record (spam). It is recognised from the structure, as the words every record header
(and the channel header) starts with, so no particular spam string is hard-coded.

Written by hand because no library reads this format: it is not XML any more.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

from bot.cleantext import clean_text
from bot.errors import ParseError
from bot.htmltext import sanitise, text_to_html
from bot.identity import item_key
from bot.models import FeedInfo, Item, ParsedFeed
from bot.trackers import image_url
from bot.urls import safe_url

CDATA_END = "]]>"
_DATE = r"[A-Z][a-z]{2}, \d{1,2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} (?:[+-]\d{4}|GMT|UTC|UT)"
_CHANNEL_RE = re.compile(
    rf"^(?P<title>.*?) (?P<link>https?://\S+) (?P<description>.*?) ?(?P<date>{_DATE})"
    r"(?: (?P<language>[a-z]{2,3}(?:-[A-Za-z]{2,4})?))?"
    r"(?: (?:hourly|daily|weekly|monthly|yearly) \d+)?"
    r"(?: https?://\S+)? (?P<rest>.+)$"
)
_HEADER_RE = re.compile(
    rf"^(?P<title>.+?) (?P<link>https?://\S+)(?: (?P<comments>https?://\S+))? (?P<date>{_DATE})"
    r" (?P<guid>\S+)$"
)
_TRAILER_RE = re.compile(
    r"^(?:(?P<comments_feed>https?://\S+) (?P<count>\d+))?"
    r" ?(?:(?P<image>https?://\S+)(?: (?P<caption>.*))?)?$"
)


def looks_like_dump(text: str) -> bool:
    """True when `text` has the dump's shape: a flattened channel header and CDATA ends."""
    first, _, rest = text.partition("\n")
    return bool(_CHANNEL_RE.match(first.strip())) and f"\n{CDATA_END}" in "\n" + rest


def parse_dump(text: str, source: str) -> ParsedFeed:
    """Read a whole dump; any malformed record raises ParseError naming its line. Control
    characters go first (bot.cleantext; "\r\n" becomes "\n"), so no field keeps one."""
    lines = clean_text(text).split("\n")
    first = lines[0].strip()
    channel = _CHANNEL_RE.match(first)
    if channel is None:
        raise ParseError(source, "not a feed dump: the first line is not a channel header", 1)
    records = _split_records(lines, channel.group("rest"), source)
    junk = _common_prefix([first, *(r.header for r in records)])
    title = channel.group("title")[len(junk) :].strip() if junk else channel.group("title")
    # WordPress channel titles read "<archive> - <site name>"; the site name also heads every
    # image caption in the dump, where it is the media title rather than part of the credit.
    site_name = title.rsplit(" - ", 1)[1] if " - " in title else ""
    feed = FeedInfo(
        title=title,
        link=safe_url(channel.group("link")),
        description=channel.group("description").strip(),
        language=channel.group("language") or "",
    )
    items = tuple(_record_to_item(r, junk, site_name, source) for r in records)
    if not items:
        raise ParseError(source, "feed dump holds no records", 1)
    return ParsedFeed(feed=feed, items=items, source=source, format="dump")


@dataclass(frozen=True)
class _Record:
    line: int  # 1-based line of the header
    header: str
    excerpt: str
    body: str
    trailer: str


def _split_records(lines: Sequence[str], first_header: str, source: str) -> list[_Record]:
    records: list[_Record] = []
    i, header = 0, first_header
    while True:
        excerpt_end = _find_cdata_end(lines, i + 1)
        if excerpt_end is None:
            raise ParseError(
                source, "record is truncated: its excerpt never ends (no ']]>')", i + 1
            )
        body_end = _find_cdata_end(lines, excerpt_end + 1)
        if body_end is None:
            raise ParseError(source, "record is truncated: its body never ends (no ']]>')", i + 1)
        if body_end + 1 >= len(lines):
            raise ParseError(
                source, "record is truncated: the image and comments line is missing", body_end + 1
            )
        records.append(
            _Record(
                line=i + 1,
                header=header,
                excerpt="\n".join(lines[i + 1 : excerpt_end]).strip(),
                body="\n".join(lines[excerpt_end + 1 : body_end]).strip("\n"),
                trailer=lines[body_end + 1].strip(),
            )
        )
        i = body_end + 2
        while i < len(lines) and not lines[i].strip():
            i += 1
        if i >= len(lines):
            return records
        header = lines[i].strip()


def _find_cdata_end(lines: Sequence[str], start: int) -> int | None:
    for n in range(start, len(lines)):
        if lines[n].strip() == CDATA_END:
            return n
    return None


def _common_prefix(headers: Sequence[str]) -> str:
    """The whole words every header starts with: the injected junk, or "" when there is none."""
    if len(headers) < 2:
        return ""
    split = [h.split(" ") for h in headers]
    words: list[str] = []
    for column in zip(*split, strict=False):
        if len(set(column)) != 1 or column[0].startswith(("http://", "https://")):
            break
        words.append(column[0])
    return " ".join(words)


def _record_to_item(record: _Record, junk: str, site_name: str, source: str) -> Item:
    header = record.header
    if junk:
        if not header.startswith(junk):
            raise ParseError(source, "record header does not start like the others", record.line)
        header = header[len(junk) :].strip()
    m = _HEADER_RE.match(header)
    if m is None:
        raise ParseError(
            source, "record header not recognised (expected: title link date guid)", record.line
        )
    t = _TRAILER_RE.match(record.trailer)
    if t is None:
        raise ParseError(source, "image and comments line not recognised", record.line)
    caption = (t.group("caption") or "").strip()
    if site_name and caption.startswith(site_name + " "):
        caption = caption[len(site_name) :].strip()
    published = _parse_date(m.group("date"), source, record.line)
    guid, link, title = m.group("guid"), m.group("link"), m.group("title").strip()
    return Item(
        key=item_key(guid, link, title, published, record.body),
        guid=guid,
        link=safe_url(link),
        title=title,
        published=published,
        summary=record.excerpt,
        text=record.body,
        # The dump flattened the HTML away; rebuild it so the item can be re-published.
        html=sanitise(text_to_html(record.body)) if record.body.strip() else None,
        comments_url=safe_url(m.group("comments")),
        comments_feed_url=safe_url(t.group("comments_feed")),
        comments_count=int(t.group("count")) if t.group("count") else None,
        image_url=image_url(t.group("image") or ""),
        image_credit=caption,
    )


def _parse_date(value: str, source: str, line: int) -> datetime:
    try:
        parsed = parsedate_to_datetime(value)
    except (TypeError, ValueError) as exc:
        raise ParseError(source, f"unreadable date {value!r}", line) from exc
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)
