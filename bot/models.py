"""Frozen dataclasses that flow between stages.

ORM rows, httpx responses and feedparser dicts never leave their module; stages exchange
only these types (compare Miniflux's internal/model/).
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import datetime
from enum import StrEnum
from typing import Any, Literal

# A figure's change, where the text says it went up or down; "" when it says neither.
Direction = Literal["up", "down", ""]
# Who a quote is from: a named person, an organisation, or a report/survey/panel finding.
SpeakerKind = Literal["person", "organisation", "report", ""]


@dataclass(frozen=True)
class FeedInfo:
    """What a document says about the feed it came from."""

    title: str = ""
    link: str = ""  # the site's page for the feed (RSS <channel><link>)
    description: str = ""
    url: str = ""  # where the document was fetched from, when known
    language: str = ""
    ttl: float | None = None  # seconds the feed asks to be left alone (<ttl>, sy:update*)


@dataclass(frozen=True)
class Item:
    """One entry as a source document gives it, before the archive has seen it.

    `key` is the item's identity within its feed (see bot.identity); `text` is plain text with
    paragraphs separated by blank lines; `html` is the source's own HTML, when it had any.
    """

    key: str
    guid: str
    link: str
    title: str
    published: datetime | None  # always timezone-aware UTC
    updated: datetime | None = None
    author: str = ""
    summary: str = ""
    text: str = ""
    html: str | None = None
    comments_url: str = ""
    comments_feed_url: str = ""
    comments_count: int | None = None
    image_url: str = ""
    image_credit: str = ""


@dataclass(frozen=True)
class ParsedFeed:
    """A whole document: the feed's description, its items, and non-fatal warnings."""

    feed: FeedInfo
    items: tuple[Item, ...]
    source: str  # file path or URL, for messages
    format: str  # "rss20", "atom10", "dump", ...
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True)
class StoredItem:
    """An item as the archive holds it, with the facts extracted when it was archived."""

    id: int
    feed_key: str
    item: Item
    content_hash: str
    previous_content_hash: str | None
    first_seen: datetime
    last_seen: datetime
    extraction: Extraction | None = None
    feed_keys: tuple[str, ...] = ()  # every feed that carried it, oldest first (() if not read)
    merged_into: int | None = None  # a row folded into that item (migration 0011), kept


@dataclass(frozen=True)
class AddResult:
    """What archiving one document changed: only new and updated items travel downstream."""

    source: str
    feed_key: str
    new: tuple[StoredItem, ...] = ()
    updated: tuple[StoredItem, ...] = ()
    unchanged: int = 0


@dataclass(frozen=True)
class Figure:
    """A key figure: `text` is the exact span text[start:end] of the article's plain text."""

    text: str
    start: int
    end: int
    kind: str  # percent | money | count | decimal | range | fraction | ratio | multiple
    value: float | None
    low: float | None
    high: float | None
    unit: str  # "%", "GBP", "years", ... or ""
    what: str  # what it measures: "of respondents", "rapid reviews"
    sentence: str  # the exact sentence it stands in
    salience: float  # 0..1: findings' statistics above narrative numbers
    # The fields below came with extractor version 2; rows stored before then load with
    # these defaults (core None: not decided, so digests treat the figure as before).
    claim: str = ""  # the shortest readable span(s) of the sentence, pieces joined by " … "
    core: bool | None = None  # a statistic the article reports (not a narrative number)
    change: Direction = ""  # went up or down, when the sentence says so
    baseline: str = ""  # what it changed from, an exact span ("447 the year before"), or ""


def claim_parts(figure: Figure) -> tuple[str, str, str]:
    """The figure's claim as (before, figure, after), so a view can set the figure in bold;
    without a claim (facts stored before version 2): ("", the figure, its `what`)."""
    if figure.claim:
        at = figure.claim.find(figure.text)
        if at >= 0:
            return figure.claim[:at], figure.text, figure.claim[at + len(figure.text) :]
        return "", figure.claim, ""
    return "", figure.text, f" {figure.what}" if figure.what else ""


@dataclass(frozen=True)
class Quote:
    """A direct quote: `text` is the exact span between the quote marks."""

    text: str
    start: int
    end: int
    speaker: str  # "" when unknown: never a guess
    role: str
    kind: str  # full | fragment
    sentence: str
    speaker_kind: SpeakerKind = ""  # "" when the speaker is unknown (or stored before v2)


@dataclass(frozen=True)
class Extraction:
    version: str
    figures: tuple[Figure, ...]
    quotes: tuple[Quote, ...]


# Every field of Figure and Quote is a scalar, so a shallow dict is the whole record
# (dataclasses.asdict deep-copies each value: a fifth of a poll's archive write).
_FIGURE_NAMES = tuple(f.name for f in fields(Figure))
_QUOTE_NAMES = tuple(f.name for f in fields(Quote))


def extraction_to_json(extraction: Extraction) -> dict[str, Any]:
    """Plain JSON-able form, as stored in the archive and exported."""
    return {
        "version": extraction.version,
        "figures": [{name: getattr(f, name) for name in _FIGURE_NAMES} for f in extraction.figures],
        "quotes": [{name: getattr(q, name) for name in _QUOTE_NAMES} for q in extraction.quotes],
    }


def extraction_from_json(data: dict[str, Any]) -> Extraction:
    figure_names = {f.name for f in fields(Figure)}
    quote_names = {f.name for f in fields(Quote)}
    return Extraction(
        version=str(data.get("version", "")),
        figures=tuple(
            Figure(**{k: v for k, v in f.items() if k in figure_names})
            for f in data.get("figures", [])
        ),
        quotes=tuple(
            Quote(**{k: v for k, v in q.items() if k in quote_names})
            for q in data.get("quotes", [])
        ),
    )


@dataclass(frozen=True)
class FeedState:
    """A configured feed as the poller sees it: where it is and what it sent last time."""

    id: int
    key: str
    url: str
    etag: str | None
    last_modified: str | None
    error_count: int
    healthy: bool
    redirect_url: str | None  # a permanent redirect seen on the last polls
    redirect_count: int
    interval: float  # seconds between polls
    allow_private: bool = False

    @classmethod
    def first_poll(cls, url: str, allow_private: bool = False, key: str = "test") -> FeedState:
        """A feed never polled before (no validators, no history): `feeds test`, tests."""
        return cls(
            id=0,
            key=key,
            url=url,
            etag=None,
            last_modified=None,
            error_count=0,
            healthy=True,
            redirect_url=None,
            redirect_count=0,
            interval=3600.0,
            allow_private=allow_private,
        )


@dataclass(frozen=True)
class FetchResult:
    """One conditional GET. `body` is None on 304 and on errors."""

    url: str  # the URL finally answered (after redirects)
    status: int | None  # HTTP status, None when no response came
    body: bytes | None = None
    etag: str | None = None
    last_modified: str | None = None
    permanent_redirect: str | None = None  # where a 301/308 pointed, when the chain had one
    retry_after: float | None = None  # seconds, from a 429/503
    error: str | None = None  # one line for the operator, None on success
    content_type: str = ""

    @property
    def not_modified(self) -> bool:
        return self.status == 304


@dataclass(frozen=True)
class DigestItem:
    """One item as a digest shows it: facts already chosen, text already shortened."""

    title: str
    link: str
    published: datetime | None
    feed_title: str
    excerpt: str
    figures: tuple[Figure, ...]
    quote: Quote | None
    page: str = ""  # the item's page on the web site ([web] public_url), or ""


@dataclass(frozen=True)
class Digest:
    """What one subscription receives for one period (or for one item, in `each` mode)."""

    subscription: str
    title: str
    period_start: datetime
    period_end: datetime
    items: tuple[DigestItem, ...]
    feeds: tuple[str, ...]  # titles of the feeds the items come from
    unsubscribe: str = ""  # a mailto: or https: link, shown in the footer
    more_link: str = ""  # where the rest can be read when a digest is cut to fit


@dataclass(frozen=True)
class Rendered:
    """A digest in one format: an e-mail body, or one or more chat payloads (JSON text)."""

    format: str
    subject: str
    body: str = ""
    payloads: tuple[str, ...] = ()


class DeliveryState(StrEnum):
    """Where one outbox row stands. The values are what the `deliveries.state` column holds."""

    PENDING = "pending"  # queued, not yet tried (or held back by a failed precondition)
    SENDING = "sending"  # leased to a worker that is sending it now
    SENT = "sent"
    FAILED = "failed"  # refused or not reached; tried again at next_attempt_at
    UNKNOWN = "unknown"  # the bytes left and no answer came; sent again once, same key
    DEAD = "dead"  # given up: a retry cannot help, or it kept failing for days
    CANCELLED = "cancelled"  # not to be sent (unsubscribed, subscription removed)


# Rows a worker may still send (metrics and `oldest_waiting` count these).
WAITING = (
    DeliveryState.PENDING,
    DeliveryState.SENDING,
    DeliveryState.FAILED,
    DeliveryState.UNKNOWN,
)


@dataclass(frozen=True)
class Delivery:
    """One outbox row: a message to one recipient for one subscription period."""

    id: int
    key: str  # idempotency key; the Message-ID is derived from it
    subscription: str
    recipient: str
    period_start: datetime
    period_end: datetime
    state: DeliveryState
    attempts: int
    last_error: str | None = None
    message_id: str | None = None
    item_id: int | None = None  # `each` mode: the item; None for a digest period
    parts_sent: int = 0  # chat messages of this delivery already accepted
    uncertain: bool = False  # may have arrived before (see schema.deliveries)
    next_attempt_at: datetime | None = None  # failed / unknown: when it is tried again

    @property
    def is_email(self) -> bool:
        return "@" in self.recipient


# -- what one send did: decided once, where the send happens ------------------------------


@dataclass(frozen=True)
class Sent:
    """The receiver accepted it."""

    message_id: str | None = None


@dataclass(frozen=True)
class Retry:
    """Not accepted, and nothing was delivered: try again, no sooner than `after` seconds
    when the receiver said so (Retry-After), else after the outbox's own backoff."""

    error: str
    after: float | None = None


@dataclass(frozen=True)
class Unknown:
    """The request (or part of it) left and no answer came: it may have arrived. Sent again
    later with the same idempotency key, and counted as a possible duplicate."""

    error: str


@dataclass(frozen=True)
class Dead:
    """A retry cannot help (a 5xx from the mail server, a 4xx from a webhook, an address the
    server cannot take): give up now and tell the admin."""

    reason: str


Outcome = Sent | Retry | Unknown | Dead


@dataclass(frozen=True)
class DeliveryResult:
    """One delivery's outcome; `parts_sent`: chat, how many of its parts are now accepted."""

    delivery_id: int
    outcome: Outcome
    parts_sent: int | None = None


@dataclass(frozen=True)
class Finish:
    """What the outbox writes for one delivery (decided by bot.deliver.decide, applied by
    archive.finish_deliveries)."""

    delivery_id: int
    state: DeliveryState
    attempt: int  # the claim it records: a row claimed again since is not this one's to finish
    error: str | None = None
    retry_at: datetime | None = None
    message_id: str | None = None
    uncertain: bool = False  # set it (never cleared: a row once uncertain stays so)
    parts_sent: int | None = None


@dataclass(frozen=True)
class Signup:
    """An address that signed up to a public subscription on the web site and confirmed."""

    subscription: str
    address: str  # as written (bot.addresses.parse(...).written)
    confirmed_at: datetime


class MailState(StrEnum):
    """Where a queued confirmation e-mail stands (the `signup_mails.state` column)."""

    PENDING = "pending"  # queued (or to be tried again at next_attempt_at)
    SENDING = "sending"  # leased to a worker
    SENT = "sent"
    DEAD = "dead"  # given up


@dataclass(frozen=True)
class SignupMail:
    """A confirmation e-mail the site queued: the worker renders and sends it."""

    id: int
    subscription: str
    recipient: str
    attempts: int
    created_at: datetime
