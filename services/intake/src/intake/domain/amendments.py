"""Changing what an incident is while it is worked on: its severity and its kind, each a fact
of its own (routing and SLA policies key on both)."""

from dataclasses import dataclass, replace
from datetime import datetime

from incident_events import EventData
from incident_events.incidents import IncidentKindChanged, IncidentSeverityChanged
from incident_events.types import IncidentKind, Severity

from intake.domain.model import Incident, IncidentNotOpen, Outcome, is_open


@dataclass(frozen=True)
class Amendment:
    """What to change; None leaves a field as it is."""

    severity: Severity | None = None
    kind: IncidentKind | None = None
    reason: str | None = None
    changed_by: str | None = None


def amend(incident: Incident, amendment: Amendment, *, now: datetime) -> Outcome:
    """The incident with the new values and one fact per field that changed; values it already
    has change nothing. A resolved or closed incident is reopened first, not amended."""
    if not is_open(incident.status):
        raise IncidentNotOpen(incident.status, "change severity or kind")
    changed, facts = incident, list[EventData]()
    if amendment.severity is not None and amendment.severity != incident.severity:
        changed = replace(changed, severity=amendment.severity)
        facts.append(
            IncidentSeverityChanged(
                incident_id=incident.incident_id,
                from_severity=incident.severity,
                to_severity=amendment.severity,
                changed_at=now,
                changed_by=amendment.changed_by,
                reason=amendment.reason,
            )
        )
    if amendment.kind is not None and amendment.kind != incident.kind:
        changed = replace(changed, kind=amendment.kind)
        facts.append(
            IncidentKindChanged(
                incident_id=incident.incident_id,
                from_kind=incident.kind.value,
                to_kind=amendment.kind.value,
                changed_at=now,
                changed_by=amendment.changed_by,
                reason=amendment.reason,
            )
        )
    if facts:
        changed = replace(changed, updated_at=now)
    return Outcome(changed, facts)
