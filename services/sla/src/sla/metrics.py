"""The sla service's domain metrics, on the app's registry: clocks started, met, warned,
breached and breaches retracted, by metric, and how many clocks are running."""

from collections.abc import Iterable

from incident_events import EventData
from incident_events.sla import (
    SlaBreached,
    SlaBreachRetracted,
    SlaClockStarted,
    SlaMet,
    SlaWarning,
)
from prometheus_client import CollectorRegistry, Counter, Gauge

from sla.domain import CLOCK_METRICS


class SlaMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.clocks_started = Counter(
            "sla_clocks_started", "SLA clocks started", ["metric"], registry=registry
        )
        self.breaches = Counter(
            "sla_breaches", "SLA clocks breached", ["metric"], registry=registry
        )
        self.met = Counter("sla_met", "SLA clocks met before due", ["metric"], registry=registry)
        self.warnings = Counter(
            "sla_warnings",
            "SLA warnings at a percentage of the target",
            ["metric"],
            registry=registry,
        )
        # A breach announced before a reply or resolution from before due reached sla.
        self.breaches_retracted = Counter(
            "sla_breaches_retracted",
            "SLA breaches retracted: the clock was met after all",
            ["metric"],
            registry=registry,
        )
        # Every label shown from the start, so rates and alerts see a zero, not a gap.
        counters = (
            self.clocks_started,
            self.breaches,
            self.met,
            self.warnings,
            self.breaches_retracted,
        )
        for counter in counters:
            for metric in CLOCK_METRICS:
                counter.labels(metric=str(metric))
        # Counted from the database, so every replica reports the same cluster-wide number.
        self.running_clocks = Gauge(
            "sla_running_clocks",
            "SLA clocks running",
            registry=registry,
            multiprocess_mode="mostrecent",
        )

    def count(self, facts: Iterable[EventData]) -> None:
        """Count the facts of a committed transaction."""
        counters = {
            SlaClockStarted: self.clocks_started,
            SlaBreached: self.breaches,
            SlaMet: self.met,
            SlaWarning: self.warnings,
            SlaBreachRetracted: self.breaches_retracted,
        }
        for fact in facts:
            counter = counters.get(type(fact))
            metric = getattr(fact, "metric", None)
            if counter is not None and metric is not None:
                counter.labels(metric=str(metric)).inc()
