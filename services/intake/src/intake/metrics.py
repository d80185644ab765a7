"""Intake's domain metrics, on the app's registry: incidents reported (by channel, kind and
severity), duplicates absorbed (an Idempotency-Key replayed, or a dedup_key), how many reports
share each commit, what happens to incidents after (status transitions, the router's
assignments included; comments, amendments, changes refused), and requests rejected, by reason.
Request latency is the kit's http_request_duration_seconds, by method and route template."""

from collections.abc import Iterable

from incident_events import EventData
from incident_events.incidents import (
    IncidentCommented,
    IncidentKindChanged,
    IncidentSeverityChanged,
    IncidentStatusChanged,
)
from prometheus_client import CollectorRegistry, Counter, Histogram

from intake.domain import Incident

DEDUPLICATED_VIA = ("idempotency_key", "dedup_key")
GROUP_SIZES = (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000)


class IntakeMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.reported = Counter(
            "incidents_reported_total",
            "New incidents stored, by channel, kind and severity",
            ["channel", "kind", "severity"],
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
        self.idempotency_keys_expired = Counter(
            "idempotency_keys_expired_total",
            "Idempotency-Keys deleted after INTAKE_IDEMPOTENCY_KEY_RETENTION_HOURS",
            registry=registry,
        )
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
        self.rejected = Counter(
            "intake_requests_rejected_total",
            "Requests refused, by route template and reason: missing_api_key, invalid_api_key, "
            "insufficient_scope, not_found, conflict, too_large, invalid (422), overloaded "
            "(shed before routing), unavailable (a dependency is down)",
            ["route", "reason"],
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

    def record_report(self, incident: Incident, *, deduplicated_via: str | None) -> None:
        """Count what a committed report transaction decided."""
        if deduplicated_via is None:
            labels = (str(incident.channel), str(incident.kind), str(incident.severity))
            self.reported.labels(*labels).inc()
        else:
            self.deduplicated.labels(deduplicated_via).inc()
