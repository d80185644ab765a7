"""Prometheus metrics every service exposes, in a registry owned by the app (no globals).

A service served by several worker processes (`<SERVICE>_PROCESSES`) shares its metrics between
them with prometheus_client's multiprocess mode: each worker writes its values to files in one
directory, and /metrics, whichever worker answers, adds up all of them. Otherwise a scrape
would see the counters of one worker picked at random. Gauges say how the workers' values
combine (`multiprocess_mode`); the `_created` samples are not kept in that mode.
"""

import os
from pathlib import Path

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, multiprocess, values
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest

__all__ = [
    "CONTENT_TYPE_LATEST",
    "ServiceMetrics",
    "forget_worker",
    "generate_latest",
    "share_between_processes",
]
MULTIPROCESS_DIR = "PROMETHEUS_MULTIPROC_DIR"  # prometheus_client's own variable

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)


class ServiceMetrics:
    """The kit's own metrics; a service adds its domain metrics on the same registry."""

    def __init__(self, registry: CollectorRegistry, service: str) -> None:
        self.registry = registry
        self.service = service
        self.http_requests = Counter(
            "http_requests_total",
            "HTTP requests answered",
            ["method", "route", "status"],
            registry=registry,
        )
        self.http_latency = Histogram(
            "http_request_duration_seconds",
            "HTTP request latency",
            ["method", "route"],
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )
        self.outbox_published = Counter(
            "outbox_events_published_total",
            "Events the outbox relay published",
            ["topic"],
            registry=registry,
        )
        self.outbox_lag = Histogram(
            "outbox_publish_lag_seconds",
            "From commit of an event to its publication",
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )
        self.outbox_pending = Gauge(
            "outbox_pending_events",
            "Events committed but not yet published",
            registry=registry,
            multiprocess_mode="mostrecent",  # every worker counts the same outbox
        )
        self.outbox_relay_leader = Gauge(
            "outbox_relay_leader",
            "1 while this replica's relay holds the outbox lock and publishes; 0 on standby",
            registry=registry,
            multiprocess_mode="livesum",  # at most one worker of all leads
        )
        self.outbox_pruned = Counter(
            "outbox_events_pruned_total",
            "Published events deleted from the outbox after the retention",
            registry=registry,
        )
        self.inbox_pruned = Counter(
            "inbox_claims_pruned_total",
            "Claims of processed events deleted from the inbox after the retention",
            registry=registry,
        )
        self.events_handled = Counter(
            "events_handled_total",
            "Events consumed, by type and outcome",
            ["event_type", "outcome"],
            registry=registry,
        )
        self.batch_retries = Counter(
            "consumer_batch_retries_total",
            "Batches rolled back by an infrastructure fault and retried after a backoff",
            ["topic"],
            registry=registry,
        )
        self.dead_letters = Counter(
            "dead_letters_total",
            "Messages sent to a dead-letter topic",
            ["topic"],
            registry=registry,
        )

    def exposition(self) -> bytes:
        if MULTIPROCESS_DIR not in os.environ:
            return generate_latest(self.registry)
        every_worker = CollectorRegistry()
        multiprocess.MultiProcessCollector(every_worker)  # type: ignore[no-untyped-call]
        return generate_latest(every_worker)


def share_between_processes(directory: Path) -> None:
    """Before the workers are forked and build their metrics: keep every metric's values in
    files under `directory` (empty, of this service alone), for /metrics to add up."""
    os.environ[MULTIPROCESS_DIR] = str(directory)
    # prometheus_client picks its value class when imported, from the variable just set; the
    # metrics built from here on (in the workers) take the multiprocess one.
    values.ValueClass = values.MultiProcessValue()  # type: ignore[no-untyped-call]


def forget_worker(pid: int) -> None:
    """A worker has ended: its live gauges (in flight, leading) no longer count."""
    multiprocess.mark_process_dead(pid)  # type: ignore[no-untyped-call]
