"""The only package that composes stages; one module per job.

ingest   read file ─► dump.parse_dump | parse.parse_feed ─► archive.add ─► AddResult
poll     archive.claim_due ─► fetch ─► parse (sandbox) ─► decide ─► extract (sandbox) ─►
         archive.record_poll
worker   tick: poll ─► deliver ─► archive.heartbeat (reportbot run, every minute)
deliver  archive.queue_period ─► claim_deliveries ─► digest.build ─► render ─►
         deliver.smtp | deliver.channels ─► archive.finish_deliveries; events ─► admin channel

Each name below is imported from its module on first use (PEP 562): `from bot import pipeline`
costs nothing until a command calls into it, so `reportbot --help` or `config check` do not
load the archive, the fetcher and the parsers that only polling and delivery need.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bot.pipeline.deliver import (
        DEMO_SUBSCRIPTION,
        DeliverySummary,
        deliver_cycle,
        deliver_due,
        due_period,
        preview_digest,
    )
    from bot.pipeline.ingest import (
        ReextractSummary,
        fact_extractor,
        import_files,
        read_document,
        reextract,
    )
    from bot.pipeline.poll import (
        PollOutcome,
        PollStatus,
        PollSummary,
        check_feed,
        fetcher_for,
        poll_cycle,
        sandbox_for,
    )
    from bot.pipeline.worker import TickSummary, tick

# each module's public names, as imported above for the type checker
_EXPORTS = {
    "deliver": (
        "DEMO_SUBSCRIPTION",
        "DeliverySummary",
        "deliver_cycle",
        "deliver_due",
        "due_period",
        "preview_digest",
    ),
    "ingest": ("ReextractSummary", "fact_extractor", "import_files", "read_document", "reextract"),
    "poll": (
        "PollOutcome",
        "PollStatus",
        "PollSummary",
        "check_feed",
        "fetcher_for",
        "poll_cycle",
        "sandbox_for",
    ),
    "worker": ("TickSummary", "tick"),
}
_HOME = {name: module for module, names in _EXPORTS.items() for name in names}


def __getattr__(name: str) -> Any:
    module = _HOME.get(name)
    if module is None:
        raise AttributeError(f"module 'bot.pipeline' has no attribute {name!r}")
    value = getattr(import_module(f"bot.pipeline.{module}"), name)
    globals()[name] = value  # later look-ups skip this function
    return value


__all__ = [
    "DEMO_SUBSCRIPTION",
    "DeliverySummary",
    "PollOutcome",
    "PollStatus",
    "PollSummary",
    "ReextractSummary",
    "TickSummary",
    "check_feed",
    "deliver_cycle",
    "deliver_due",
    "due_period",
    "fact_extractor",
    "fetcher_for",
    "import_files",
    "poll_cycle",
    "preview_digest",
    "read_document",
    "reextract",
    "sandbox_for",
    "tick",
]
