"""Intake's pure domain: what an incident is, how a report becomes one, and how an assignment
changes it. No I/O and no clock: callers pass ids, references and `now`."""

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from incident_events import EventData
from incident_events.incidents import CustomerRef, IncidentReported, IncidentStatusChanged
from incident_events.routing import IncidentAssigned
from incident_events.types import Channel, CustomerTier, IncidentStatus, Severity

# A dedup_key only matches incidents still being worked on; a closed one starts a new incident.
CLOSED_STATUSES = frozenset({IncidentStatus.RESOLVED, IncidentStatus.CLOSED})
REFERENCE_PREFIX = "INC-"
CUSTOMER_FIELDS = ("name", "email", "phone", "language", "tier")


class IdempotencyKeyReused(Exception):
    """The same Idempotency-Key came with a different request body."""


@dataclass(frozen=True)
class CustomerDetails:
    """What a report says about its customer; missing fields keep what intake already knows."""

    customer_id: str
    name: str | None = None
    email: str | None = None
    phone: str | None = None
    language: str | None = None
    tier: CustomerTier | None = None


@dataclass(frozen=True)
class IncidentReport:
    """A validated request to open an incident, whatever the channel."""

    title: str
    severity: Severity
    customer: CustomerDetails
    description: str = ""
    kind: str = "incident"
    channel: Channel = Channel.API
    language: str | None = None
    required_skills: tuple[str, ...] = ()
    dedup_key: str | None = None


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
    kind: str
    channel: Channel
    customer: CustomerRef
    language: str
    required_skills: tuple[str, ...]
    dedup_key: str | None
    assignee: Assignee | None
    created_at: datetime
    updated_at: datetime
    # When the router made the recorded assignment (None before intake kept it).
    assigned_at: datetime | None = None


@dataclass(frozen=True)
class Outcome:
    """The incident after a change and the facts to publish about it."""

    incident: Incident
    events: list[EventData]


def is_open(status: IncidentStatus) -> bool:
    return status not in CLOSED_STATUSES


def derive_customer_id(
    *, customer_id: str | None, email: str | None, phone: str | None
) -> str | None:
    """The given id, else one derived from the e-mail address (or phone), so that reports from
    the same person on different channels land on one customer."""
    if customer_id:
        return customer_id
    if email:
        return f"email:{email.strip().lower()}"
    if phone:
        return f"phone:{''.join(c for c in phone if c.isdigit() or c == '+')}"
    return None


def given_details(details: CustomerDetails) -> dict[str, Any]:
    """The fields a report states about its customer; the others keep what is stored."""
    stated = {field: getattr(details, field) for field in CUSTOMER_FIELDS}
    return {field: value for field, value in stated.items() if value is not None}


def merge_customer_details(reports: Iterable[CustomerDetails]) -> list[CustomerDetails]:
    """One entry per customer, sorted by id, as if the reports were stored one after another:
    each field as the last report that states it says."""
    merged: dict[str, CustomerDetails] = {}
    for details in reports:
        earlier = merged.get(details.customer_id)
        merged[details.customer_id] = (
            replace(earlier, **given_details(details)) if earlier else details
        )
    return [merged[customer_id] for customer_id in sorted(merged)]


def customer_changed(stored: CustomerRef, details: CustomerDetails) -> bool:
    """Whether storing these details would change the stored customer."""
    return any(getattr(stored, field) != value for field, value in given_details(details).items())


def new_customer(details: CustomerDetails) -> CustomerRef:
    """A customer not stored yet: what the report states, defaults for the rest."""
    return CustomerRef(customer_id=details.customer_id, **given_details(details))


def first_occurrences(keys: Iterable[str | None]) -> dict[str, int]:
    """The position of each key's first occurrence; None is no key."""
    first: dict[str, int] = {}
    for position, key in enumerate(keys):
        if key is not None:
            first.setdefault(key, position)
    return first


def format_reference(number: int) -> str:
    """The human-readable reference, e.g. INC-000042; it grows past six digits as needed."""
    return f"{REFERENCE_PREFIX}{number:06d}"


def unique_skills(skills: Iterable[str]) -> tuple[str, ...]:
    """Skills without repeats, in the order given."""
    return tuple(dict.fromkeys(skills))


def request_fingerprint(document: Mapping[str, Any]) -> str:
    """A digest of a request that ignores key order and whitespace: tells a retry from a reuse."""
    canonical = json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def new_incident(
    report: IncidentReport,
    *,
    incident_id: str,
    reference: str,
    customer: CustomerRef,
    now: datetime,
) -> Incident:
    """A new incident from a report; its language defaults to the customer's."""
    return Incident(
        incident_id=incident_id,
        reference=reference,
        status=IncidentStatus.NEW,
        title=report.title,
        description=report.description,
        severity=report.severity,
        kind=report.kind,
        channel=report.channel,
        customer=customer,
        language=report.language or customer.language,
        required_skills=unique_skills(report.required_skills),
        dedup_key=report.dedup_key,
        assignee=None,
        created_at=now,
        updated_at=now,
    )


def reported(incident: Incident) -> IncidentReported:
    """The fact that starts every incident's flow."""
    return IncidentReported(
        incident_id=incident.incident_id,
        reference=incident.reference,
        title=incident.title,
        description=incident.description,
        severity=incident.severity,
        kind=incident.kind,
        channel=incident.channel,
        customer=incident.customer,
        language=incident.language,
        required_skills=list(incident.required_skills),
        reported_at=incident.created_at,
        dedup_key=incident.dedup_key,
    )


def is_stale(incident: Incident, assigned: IncidentAssigned) -> bool:
    """Made before the assignment recorded (a dead letter replayed late, say): applying it
    would undo the later one."""
    return incident.assigned_at is not None and assigned.assigned_at < incident.assigned_at


def assign(incident: Incident, assigned: IncidentAssigned, *, now: datetime) -> Outcome:
    """Record who works on the incident; a new incident becomes assigned. A reassignment only
    changes the assignee; a resolved or closed incident, or a stale assignment, changes nothing."""
    if not is_open(incident.status) or is_stale(incident, assigned):
        return Outcome(incident, [])
    assignee = Assignee(assigned.agent_id, assigned.agent_name, assigned.reason)
    status = IncidentStatus.ASSIGNED if incident.status == IncidentStatus.NEW else incident.status
    changed = replace(
        incident,
        assignee=assignee,
        status=status,
        updated_at=now,
        assigned_at=assigned.assigned_at,
    )
    if status == incident.status:
        return Outcome(changed, [])
    fact = IncidentStatusChanged(
        incident_id=incident.incident_id,
        from_status=incident.status,
        to_status=status,
        changed_at=now,
        changed_by=assigned.agent_id,
        reason=assigned.reason,
    )
    return Outcome(changed, [fact])
