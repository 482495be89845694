"""The only package that composes stages; one module per job.

ingest   read file ─► dump.parse_dump | parse.parse_feed ─► archive.add ─► AddResult
poll     archive.claim_due ─► fetch ─► parse + extract (sandbox) ─► archive.record_poll
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
from bot.pipeline.ingest import fact_extractor, import_files, read_document, reextract
from bot.pipeline.poll import (
    PollOutcome,
    PollSummary,
    check_feed,
    extract_batch,
    fetcher_for,
    next_poll_delay,
    poll_cycle,
)

__all__ = [
    "DEMO_SUBSCRIPTION",
    "DeliverySummary",
    "PollOutcome",
    "PollSummary",
    "check_feed",
    "deliver_cycle",
    "deliver_due",
    "due_period",
    "extract_batch",
    "fact_extractor",
    "fetcher_for",
    "import_files",
    "next_poll_delay",
    "poll_cycle",
    "preview_digest",
    "read_document",
    "reextract",
]
