"""The archive: the only package that speaks SQL.

`Archive` is one handle; its methods live by subject in base (engine, migrations,
transactions), items (add returns only what is new or updated; reads), polling (claims,
leases, poll results, events), outbox (subscriptions, deliveries), search (full-text
search, speakers, newest-first pages) and signups (the web site's sign-ups, confirmation
e-mails and rate-limit hits).
"""

from bot.archive.base import (
    ArchiveBase,
    Extractor,
    Feed,
    _alembic_config,
    _item_values,
    engine_for,
    redact,
)
from bot.archive.outbox import OutboxMixin, delivery_key
from bot.archive.polling import Event, FeedStatus, PollingMixin
from bot.archive.search import SearchMixin
from bot.archive.signups import SignupsMixin


class Archive(SearchMixin, PollingMixin, OutboxMixin, SignupsMixin):
    """A handle on one archive database."""


__all__ = [
    "Archive",
    "ArchiveBase",
    "Event",
    "Extractor",
    "Feed",
    "FeedStatus",
    "_alembic_config",
    "_item_values",
    "delivery_key",
    "engine_for",
    "redact",
]
