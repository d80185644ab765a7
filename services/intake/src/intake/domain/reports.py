"""How a report becomes an incident: customer ids and details merged across reports,
references, request fingerprints, the new incident and its `incident.reported` fact."""

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import replace
from datetime import datetime
from typing import Any

from incident_events.incidents import CustomerRef, IncidentReported
from incident_events.types import IncidentStatus

from intake.domain.model import CUSTOMER_FIELDS, CustomerDetails, Incident, IncidentReport

REFERENCE_PREFIX = "INC-"


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
        logged_by=report.logged_by,
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
        kind=incident.kind.value,
        channel=incident.channel,
        customer=incident.customer,
        language=incident.language,
        required_skills=list(incident.required_skills),
        reported_at=incident.created_at,
        dedup_key=incident.dedup_key,
        logged_by=incident.logged_by,
    )
