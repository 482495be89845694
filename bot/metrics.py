"""Prometheus metrics, served by `reportbot run` when [metrics] is configured.

Two kinds: counters and histograms this worker keeps (polls, fetch and extraction time,
items archived, delivery outcomes), and gauges read from the archive at each scrape (outbox
by state, its depth and oldest waiting message, unhealthy feeds, the last tick), so every
worker reports the same shared state and a restarted worker loses nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram, start_http_server
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from bot.archive import Archive
from bot.config import listen_address

WAITING = ("pending", "sending", "failed", "unknown")


class Metrics:
    """One registry per worker (tests make several)."""

    def __init__(self, archive: Archive) -> None:
        self.registry = CollectorRegistry()
        self.polls = Counter(
            "reportbot_polls", "Feed polls by outcome", ["status"], registry=self.registry
        )
        self.fetch_seconds = Histogram(
            "reportbot_fetch_seconds",
            "Conditional GET of one feed, redirects included",
            buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
            registry=self.registry,
        )
        self.extract_seconds = Histogram(
            "reportbot_extraction_seconds",
            "Fact extraction of one feed's new and changed items",
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5, 20),
            registry=self.registry,
        )
        self.items = Counter(
            "reportbot_items_archived", "Items archived", ["kind"], registry=self.registry
        )
        self.deliveries = Counter(
            "reportbot_deliveries",
            "Delivery attempts by outcome",
            ["state"],
            registry=self.registry,
        )
        self.registry.register(_ArchiveCollector(archive))

    def observe_poll(self, outcomes: Any) -> None:
        """From a PollSummary's outcomes."""
        for o in outcomes:
            self.polls.labels(o.status).inc()
            if o.fetch_seconds is not None:
                self.fetch_seconds.observe(o.fetch_seconds)
            if o.extract_seconds is not None:
                self.extract_seconds.observe(o.extract_seconds)
            self.items.labels("new").inc(o.new)
            self.items.labels("updated").inc(o.updated)

    def observe_delivery(self, counts: dict[str, int]) -> None:
        """From a DeliverySummary as a dict: sent, failed, unknown, dead, cancelled."""
        for state in ("sent", "failed", "unknown", "dead", "cancelled"):
            self.deliveries.labels(state).inc(counts.get(state, 0))

    def serve(self, listen: str) -> Any:
        """Serve /metrics in a daemon thread; returns the server (shutdown() stops it)."""
        host, port = listen_address(listen)
        server, _thread = start_http_server(port, host, self.registry)
        return server


class _ArchiveCollector(Collector):
    """Gauges read from the database at scrape time."""

    def __init__(self, archive: Archive) -> None:
        self.archive = archive

    def collect(self) -> Iterator[GaugeMetricFamily]:
        counts = self.archive.outbox_counts()
        by_state = GaugeMetricFamily(
            "reportbot_outbox_deliveries", "Deliveries in the outbox by state", labels=["state"]
        )
        for state in ("pending", "sending", "sent", "failed", "unknown", "dead", "cancelled"):
            by_state.add_metric([state], counts.get(state, 0))
        yield by_state
        yield GaugeMetricFamily(
            "reportbot_outbox_depth",
            "Deliveries still to go out (pending, sending, failed, unknown)",
            value=sum(counts.get(s, 0) for s in WAITING),
        )
        oldest = self.archive.oldest_waiting()
        age = (datetime.now(UTC) - oldest).total_seconds() if oldest else 0.0
        yield GaugeMetricFamily(
            "reportbot_outbox_oldest_waiting_seconds",
            "Age of the oldest delivery still to go out (0 when none)",
            value=age,
        )
        feeds = self.archive.feed_status()
        yield GaugeMetricFamily(
            "reportbot_feeds_unhealthy",
            "Feeds marked unhealthy (10 failed polls in a row)",
            value=sum(1 for f in feeds if not f.healthy),
        )
        last = self.archive.last_tick()
        yield GaugeMetricFamily(
            "reportbot_last_tick_timestamp_seconds",
            "When a worker last completed a tick (Unix time)",
            value=last.timestamp() if last else 0.0,
        )
