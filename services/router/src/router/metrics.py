"""The router's domain metrics, on the app's registry: outcomes of routing and the queue depth
(counted by router.queue_depth)."""

from collections.abc import Iterable

from incident_events import EventData
from incident_events.routing import AssignmentQueued, IncidentAssigned
from prometheus_client import CollectorRegistry, Counter, Gauge


class RouterMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.assignments = Counter(
            "assignments_total",
            "Routing decisions, by outcome (assigned or queued)",
            ["outcome"],
            registry=registry,
        )
        self.queue_depth = Gauge(
            "queue_depth",
            "Incidents waiting for an eligible agent",
            registry=registry,
            multiprocess_mode="mostrecent",
        )
        for outcome in ("assigned", "queued"):
            self.assignments.labels(outcome)  # export zeros before the first decision

    def record(self, facts: Iterable[EventData]) -> None:
        """Count what a committed transaction decided."""
        for fact in facts:
            if isinstance(fact, IncidentAssigned):
                self.assignments.labels("assigned").inc()
            elif isinstance(fact, AssignmentQueued):
                self.assignments.labels("queued").inc()
