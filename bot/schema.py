"""The archive's tables (SQLAlchemy Core). Alembic migrations in bot/migrations/ create them;
a test checks that the migrations and these definitions agree."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    DateTime,
    Dialect,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy import (
    false as sa_false,
)
from sqlalchemy import (
    true as sa_true,
)

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
metadata = MetaData(naming_convention=NAMING)


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes in and out. SQLite keeps no offset, so it stores naive UTC."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the archive; use timezone-aware UTC")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        assert isinstance(value, datetime)
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


feeds = Table(
    "feeds",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("key", String(200), nullable=False, unique=True),
    Column("title", Text, nullable=False),
    Column("link", Text, nullable=False),
    Column("url", Text, nullable=False),
    Column("description", Text, nullable=False),
    Column("language", String(35), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    # polling state (migration 0003); feeds only imported from files never get polled
    Column("etag", Text),
    Column("last_modified", Text),
    Column("next_poll_at", UTCDateTime),  # NULL: due now
    Column("lease_until", UTCDateTime),  # a worker owns the feed until then
    Column("lease_owner", String(64)),
    Column("error_count", Integer, nullable=False, server_default="0"),
    Column("last_error", Text),
    Column("last_status", Integer),
    Column("last_polled_at", UTCDateTime),
    Column("last_success_at", UTCDateTime),
    Column("healthy", Boolean, nullable=False, server_default=sa_true()),
    Column("redirect_url", Text),
    Column("redirect_count", Integer, nullable=False, server_default="0"),
    # the URL the config gave (migration 0008): `url` may differ after an adopted permanent
    # redirect; a change here (the config was edited) puts `url` back to it
    Column("configured_url", Text),
    Index("ix_feeds_next_poll_at", "next_poll_at"),
)

items = Table(
    "items",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("feed_id", Integer, ForeignKey("feeds.id", ondelete="CASCADE"), nullable=False),
    Column("key", Text, nullable=False),  # identity within the feed: bot.identity.item_key
    Column("guid", Text, nullable=False),
    Column("link", Text, nullable=False),
    Column("title", Text, nullable=False),
    Column("author", Text, nullable=False),
    Column("published", UTCDateTime),
    Column("updated", UTCDateTime),
    Column("summary", Text, nullable=False),
    Column("text", Text, nullable=False),
    Column("html", Text),
    Column("content_hash", String(64), nullable=False),
    Column("previous_content_hash", String(64)),
    Column("first_seen", UTCDateTime, nullable=False),
    Column("last_seen", UTCDateTime, nullable=False),
    Column("changed_at", UTCDateTime),  # when the content last changed after first_seen
    Column("comments_url", Text, nullable=False),
    Column("comments_feed_url", Text, nullable=False),
    Column("comments_count", Integer),
    Column("image_url", Text, nullable=False),
    Column("image_credit", Text, nullable=False),
    Column("facts", JSON),  # models.extraction_to_json: figures and quotes
    Column("extractor_version", String(20)),
    # why the facts are missing (extraction failed or hit the sandbox's limits; migration
    # 0008); NULL when they were extracted. `reportbot reextract --missing` retries these.
    Column("facts_error", Text),
    # one story across feeds (migration 0011, bot.identity.Story): the canonical link and the
    # hash of title + text ("" when the item has none), looked up when another feed brings
    # an item; `merged_into`: this row was the same story as that item when the migration
    # found them apart; it is kept (never lost) but is no longer listed, exported or sent
    Column("story_link", Text, nullable=False, server_default=""),
    Column("story_hash", String(64), nullable=False, server_default=""),
    Column("merged_into", Integer),
    # what search indexes of the facts, and how many figures (migration 0012; see
    # bot.archive.index; PostgreSQL also has a `search` tsvector column kept by a trigger)
    Column("search_facts", Text, nullable=False, server_default=""),
    Column("figure_count", Integer, nullable=False, server_default="0"),
    UniqueConstraint("feed_id", "key", name="uq_items_feed_id_key"),
    Index("ix_items_published", "published"),
    Index("ix_items_feed_id_published", "feed_id", "published"),
    Index("ix_items_guid", "guid"),
    Index("ix_items_story_link", "story_link"),
    Index("ix_items_story_hash", "story_hash"),
)

# Which feeds carried each item (migration 0011): every item has a row for the feed that
# first brought it (items.feed_id) and one for each other feed that brought the same story.
# `key` is the item's identity within that feed, `content_hash` its words as that feed last
# carried them (whether that feed's copy changed is decided by it, as for the home feed).
item_feeds = Table(
    "item_feeds",
    metadata,
    Column("feed_id", Integer, ForeignKey("feeds.id", ondelete="CASCADE"), primary_key=True),
    Column("key", Text, primary_key=True),
    Column("item_id", Integer, ForeignKey("items.id", ondelete="CASCADE"), nullable=False),
    Column("content_hash", String(64), nullable=False),
    Column("first_seen", UTCDateTime, nullable=False),  # when this feed first brought it
    Index("ix_item_feeds_item_id", "item_id"),
    Index("ix_item_feeds_key", "key"),
    Index("ix_item_feeds_first_seen", "first_seen"),
)

# Every quote with a named speaker (migration 0012), from the items' facts, kept in step by
# bot.archive.index: the speakers pages read this instead of every item's facts.
quotes = Table(
    "quotes",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("item_id", Integer, ForeignKey("items.id", ondelete="CASCADE"), nullable=False),
    Column("speaker", Text, nullable=False),
    Column("speaker_key", Text, nullable=False),  # bot.archive.index.speaker_key
    Column("role", Text, nullable=False),
    Column("text", Text, nullable=False),
    Column("span_start", Integer, nullable=False),  # the quote is item.text[start:end]
    Column("span_end", Integer, nullable=False),
    Column("quoted_at", UTCDateTime, nullable=False),  # the item's publication (else seen) date
    Index("ix_quotes_speaker_key", "speaker_key", "quoted_at", "id"),
    Index("ix_quotes_item_id", "item_id"),
)

fetch_log = Table(
    "fetch_log",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("feed_id", Integer, ForeignKey("feeds.id", ondelete="CASCADE")),
    Column("at", UTCDateTime, nullable=False),
    Column("source", Text, nullable=False),  # the URL fetched, or "import:<path>"
    Column("status", String(20), nullable=False),  # ok | not_modified | error
    Column("http_status", Integer),
    Column("new", Integer, nullable=False),
    Column("updated", Integer, nullable=False),
    Column("unchanged", Integer, nullable=False),
    Column("error", Text),
    Index("ix_fetch_log_feed_id_at", "feed_id", "at"),
)

# Things an admin should hear about (feed unhealthy / recovered); the delivery stage sends
# them to the admin channel and sets delivered_at.
events = Table(
    "events",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("at", UTCDateTime, nullable=False),
    Column("kind", String(40), nullable=False),
    Column("feed_id", Integer, ForeignKey("feeds.id", ondelete="CASCADE")),
    Column("message", Text, nullable=False),
    Column("delivered_at", UTCDateTime),
    Index("ix_events_delivered_at", "delivered_at"),
)


# A subscription exists from the first time any command loads it (a new one starts from then:
# no backlog flood). last_period_end: where the next digest's items start.
subscriptions = Table(
    "subscriptions",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("last_period_end", UTCDateTime),
)

# The outbox: one row per message to send, keyed by an idempotency key, moving
# pending → sending (leased) → sent | failed (retry at next_attempt_at) | dead.
deliveries = Table(
    "deliveries",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("key", String(300), nullable=False, unique=True),
    Column("subscription", String(64), nullable=False),
    Column("recipient", Text, nullable=False),  # an e-mail address, or a channel kind
    Column("period_start", UTCDateTime, nullable=False),
    Column("period_end", UTCDateTime, nullable=False),
    Column("state", String(16), nullable=False),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("next_attempt_at", UTCDateTime),
    Column("lease_until", UTCDateTime),
    Column("last_error", Text),
    Column("message_id", Text),
    Column("created_at", UTCDateTime, nullable=False),
    Column("sent_at", UTCDateTime),
    Column("item_id", Integer),  # `each` mode: the one item this message is about
    # a digest cut into several chat messages: how many went out (a retry sends the rest)
    Column("parts_sent", Integer, nullable=False, server_default="0"),
    # it may have been delivered before: its lease expired mid-send, or the request left and
    # no answer came (state unknown). A resend of such a row can be a duplicate.
    Column("uncertain", Boolean, nullable=False, server_default=sa_false()),
    Index("ix_deliveries_state", "state", "next_attempt_at"),
)

# Addresses that asked to stop (one-click link or `subscribers remove`): checked when a
# period is queued and again just before each send.
unsubscribes = Table(
    "unsubscribes",
    metadata,
    Column("subscription", String(64), primary_key=True),
    Column("address", String(320), primary_key=True),
    Column("at", UTCDateTime, nullable=False),
    Column("via", String(20), nullable=False),
)


# One row per worker process (host:pid), written on every tick: `reportbot health` reads the
# newest, and an operator can see which workers are alive.
workers = Table(
    "workers",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("version", String(40), nullable=False),
    Column("started_at", UTCDateTime, nullable=False),
    Column("last_tick_at", UTCDateTime, nullable=False),
    # the config the worker runs: a short hash of the file, and when it was (re)loaded
    Column("config_version", String(16)),
    Column("config_loaded_at", UTCDateTime),
)


# Web sign-ups to public subscriptions (migration 0013): one row per confirmed address
# (double opt-in: a row is written only when its signed link was followed). They receive
# beside the config's `email` list; an unsubscribe (above) still wins.
signups = Table(
    "signups",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("subscription", String(64), nullable=False),
    Column("address", Text, nullable=False),  # as written (bot.addresses.parse(...).written)
    Column("address_key", String(320), nullable=False),  # bot.addresses key: case-blind
    Column("confirmed_at", UTCDateTime, nullable=False),
    UniqueConstraint("subscription", "address_key", name="uq_signups_subscription"),
)

# Confirmation e-mails the web site asked for: the site only queues them (so a request
# takes as long whether or not a mail goes), the worker sends them with the digests.
signup_mails = Table(
    "signup_mails",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("subscription", String(64), nullable=False),
    Column("recipient", Text, nullable=False),
    Column("state", String(16), nullable=False),  # pending | sending | sent | dead
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("next_attempt_at", UTCDateTime),
    Column("lease_until", UTCDateTime),
    Column("last_error", Text),
    Column("created_at", UTCDateTime, nullable=False),
    Column("sent_at", UTCDateTime),
    Index("ix_signup_mails_state", "state", "next_attempt_at"),
)

# Rate limits of the web site (login, subscribe), kept here rather than in a process, as
# several web processes serve one archive. `bucket`: a hash of what is limited (an IP, an
# address), so the table holds no address in the clear.
rate_hits = Table(
    "rate_hits",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("bucket", String(64), nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Index("ix_rate_hits_bucket", "bucket", "at"),
)
