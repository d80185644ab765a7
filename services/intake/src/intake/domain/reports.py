"""How a report becomes an incident: references, request fingerprints, the first report of
each key, the new incident and its `incident.reported` fact. Which customer it belongs to is
domain.customers'."""

import hashlib
import json
from collections.abc import Hashable, Iterable, Mapping
from datetime import datetime
from typing import Any, TypeVar

from incident_events.incidents import CustomerRef, IncidentReported
from incident_events.types import IncidentStatus

from intake.domain.model import Incident, IncidentReport

REFERENCE_PREFIX = "INC-"
K = TypeVar("K", bound=Hashable)


def first_occurrences(keys: Iterable[K | None]) -> dict[K, int]:
    """The position of each key's first occurrence; None is no key."""
    first: dict[K, int] = {}
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
    client_id: str,
    now: datetime,
) -> Incident:
    """A new incident from a report by a client; its language defaults to the customer's."""
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
        logged_by=report.logged_by,
        assignee=None,
        client_id=client_id,
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
        kind=incident.kind.value,
        channel=incident.channel,
        customer=incident.customer,
        language=incident.language,
        required_skills=list(incident.required_skills),
        reported_at=incident.created_at,
        dedup_key=incident.dedup_key,
        logged_by=incident.logged_by,
    )
