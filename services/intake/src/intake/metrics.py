"""Intake's domain metrics, on the app's registry: reports received and duplicates absorbed."""

from incident_events.types import Channel, Severity
from prometheus_client import CollectorRegistry, Counter

DEDUPLICATED_VIA = ("idempotency_key", "dedup_key")


class IntakeMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.reported = Counter(
            "incidents_reported_total",
            "New incidents stored, by channel and severity",
            ["channel", "severity"],
            registry=registry,
        )
        self.deduplicated = Counter(
            "incidents_deduplicated_total",
            "Reports answered with an existing incident, by what matched",
            ["via"],
            registry=registry,
        )
        for via in DEDUPLICATED_VIA:
            self.deduplicated.labels(via)  # export zeros before the first duplicate

    def record_report(
        self, *, channel: Channel, severity: Severity, deduplicated_via: str | None
    ) -> None:
        """Count what a committed report transaction decided."""
        if deduplicated_via is None:
            self.reported.labels(str(channel), str(severity)).inc()
        else:
            self.deduplicated.labels(deduplicated_via).inc()
