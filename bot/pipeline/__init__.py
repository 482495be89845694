"""The only package that composes stages; one module per job.

ingest   read file ─► dump.parse_dump | parse.parse_feed ─► archive.add ─► AddResult
poll     archive.claim_due ─► fetch ─► parse (sandbox) ─► decide ─► extract (sandbox) ─►
         archive.record_poll
worker   tick: poll ─► deliver ─► archive.heartbeat (reportbot run, every minute)
deliver  archive.queue_period ─► claim_deliveries ─► digest.build ─► render ─►
         deliver.smtp | deliver.channels ─► archive.finish_deliveries; events ─► admin channel
"""

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
