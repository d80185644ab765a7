"""Intake's domain metrics, on the app's registry: reports received, duplicates absorbed, how
many reports share each commit, and what happens to incidents after: status transitions,
comments, amendments, and changes refused."""

from collections.abc import Iterable

from incident_events import EventData
from incident_events.incidents import (
    IncidentCommented,
    IncidentKindChanged,
    IncidentSeverityChanged,
    IncidentStatusChanged,
)
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

        self.transitions = Counter(
            "incident_transitions_total",
            "Status changes asked for over the API or made by a comment, by from and to status",
            ["from_status", "to_status"],
            registry=registry,
        )
        self.comments = Counter(
            "incident_comments_total",
            "Comments added, by author kind and visibility",
            ["author_kind", "visibility"],
            registry=registry,
        )
        self.amendments = Counter(
            "incident_amendments_total",
            "Severity and kind changes, by field",
            ["field"],
            registry=registry,
        )
        self.changes_refused = Counter(
            "incident_changes_refused_total",
            "Status changes, comments and amendments refused, by reason",
            ["reason"],
            registry=registry,
        )

    def record_facts(self, facts: Iterable[EventData]) -> None:
        """Count the committed facts of a change to an incident."""
        for fact in facts:
            match fact:
                case IncidentStatusChanged():
                    self.transitions.labels(str(fact.from_status), str(fact.to_status)).inc()
                case IncidentCommented():
                    self.comments.labels(fact.author_kind, str(fact.visibility)).inc()
                case IncidentSeverityChanged():
                    self.amendments.labels("severity").inc()
                case IncidentKindChanged():
                    self.amendments.labels("kind").inc()

    def record_report(
        self, *, channel: Channel, severity: Severity, deduplicated_via: str | None
    ) -> None:
        """Count what a committed report transaction decided."""
        if deduplicated_via is None:
            self.reported.labels(str(channel), str(severity)).inc()
        else:
            self.deduplicated.labels(deduplicated_via).inc()
