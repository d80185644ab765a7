"""Intake's domain metrics, on the app's registry: reports received, duplicates absorbed, and
how many reports share each commit."""

from incident_events.types import Channel, Severity
from prometheus_client import CollectorRegistry, Counter, Histogram

DEDUPLICATED_VIA = ("idempotency_key", "dedup_key")
GROUP_SIZES = (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000)


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
        self.group_commit_size = Histogram(
            "intake_group_commit_size",
            "Reports per committed transaction (its _count: report transactions committed)",
            buckets=GROUP_SIZES,
            registry=registry,
        )
        self.group_commit_fallbacks = Counter(
            "intake_group_commit_fallbacks_total",
            "Groups whose transaction failed and were retried one report per transaction",
            registry=registry,
        )

    def record_report(
        self, *, channel: Channel, severity: Severity, deduplicated_via: str | None
    ) -> None:
        """Count what a committed report transaction decided."""
        if deduplicated_via is None:
            self.reported.labels(str(channel), str(severity)).inc()
        else:
            self.deduplicated.labels(deduplicated_via).inc()
