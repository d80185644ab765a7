"""What intake knows of an incident and its customer, the outcome of a change to it, and the
errors its rules raise. Plain frozen data: no I/O, no clock."""

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from incident_events import EventData
from incident_events.incidents import CustomerRef
from incident_events.types import Channel, CustomerTier, IncidentKind, IncidentStatus, Severity

# A dedup_key only matches incidents still being worked on; a closed one starts a new incident.
CLOSED_STATUSES = frozenset({IncidentStatus.RESOLVED, IncidentStatus.CLOSED})
CUSTOMER_FIELDS = ("name", "email", "phone", "language", "tier", "time_zone")


def known_customer(customer_id: str, **details: Any) -> CustomerRef:
    """A customer from details intake has already checked: each channel validates what it is
    sent, and stored rows were validated on the way in. Not validated again: checking the
    e-mail cost more than the rest of a report's customer work (email-validator, each time)."""
    return CustomerRef.model_construct(customer_id=customer_id, **details)


@dataclass(frozen=True)
class CustomerDetails:
    """What a report says about its customer; missing fields keep what intake already knows."""

    customer_id: str
    name: str | None = None
    email: str | None = None
    phone: str | None = None
    language: str | None = None
    tier: CustomerTier | None = None
    time_zone: str | None = None


@dataclass(frozen=True)
class IncidentReport:
    """A validated request to open an incident, whatever the channel."""

    title: str
    severity: Severity
    customer: CustomerDetails
    description: str = ""
    kind: IncidentKind = IncidentKind.INCIDENT
    channel: Channel = Channel.API
    language: str | None = None
    required_skills: tuple[str, ...] = ()
    dedup_key: str | None = None
    # The agent who took the report for the customer (phone, fax).
    logged_by: str | None = None


@dataclass(frozen=True)
class Assignee:
    agent_id: str
    name: str | None
    reason: str


@dataclass(frozen=True)
class Incident:
    incident_id: str
    reference: str
    status: IncidentStatus
    title: str
    description: str
    severity: Severity
    kind: IncidentKind
    channel: Channel
    customer: CustomerRef
    language: str
    required_skills: tuple[str, ...]
    dedup_key: str | None  # unique among the open incidents of the client that reported it
    assignee: Assignee | None
    client_id: str  # the client system that reported it
    created_at: datetime
    updated_at: datetime
    # None: in its status since created_at (a new incident, or one stored before this was kept).
    status_changed_at: datetime | None = None
    resolution: str | None = None
    resolved_at: datetime | None = None
    closed_at: datetime | None = None
    first_agent_reply_at: datetime | None = None
    # When the router made the recorded assignment (None before intake kept it).
    assigned_at: datetime | None = None
    logged_by: str | None = None

    @property
    def status_since(self) -> datetime:
        return self.status_changed_at or self.created_at


@dataclass(frozen=True)
class Outcome:
    """The incident after a change, the facts to publish about it, and the facts of others that
    changed it (an assignment), which its timeline keeps alongside the published ones."""

    incident: Incident
    events: list[EventData]
    causes: tuple[EventData, ...] = field(default=())

    @property
    def timeline_facts(self) -> list[EventData]:
        return [*self.causes, *self.events]


def is_open(status: IncidentStatus) -> bool:
    return status not in CLOSED_STATUSES


class IdempotencyKeyReused(Exception):
    """The same Idempotency-Key came with a different request body."""


class TransitionNotAllowed(Exception):
    """The incident cannot move to the asked status now; `allowed` lists where it can."""

    def __init__(
        self, current: IncidentStatus, target: IncidentStatus, allowed: frozenset[IncidentStatus]
    ) -> None:
        super().__init__(f"{current} cannot become {target}")
        self.current, self.target = current, target
        self.allowed = sorted(allowed, key=list(IncidentStatus).index)


class IncidentNotOpen(Exception):
    """The change needs an incident still being worked on (or, for comments, not closed)."""

    def __init__(self, status: IncidentStatus, action: str) -> None:
        super().__init__(f"an incident in status {status} cannot {action}")
        self.status, self.action = status, action


class InvalidChange(ValueError):
    """A request the incident's rules refuse, naming the field at fault."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field, self.message = field, message
