"""What an assignment from the router does to an incident."""

from dataclasses import replace
from datetime import datetime

from incident_events.incidents import IncidentStatusChanged
from incident_events.routing import IncidentAssigned
from incident_events.types import IncidentStatus

from intake.domain.model import Assignee, Incident, Outcome, is_open


def is_stale(incident: Incident, assigned: IncidentAssigned) -> bool:
    """Made before the assignment recorded (a dead letter replayed late, say): applying it
    would undo the later one."""
    return incident.assigned_at is not None and assigned.assigned_at < incident.assigned_at


def assign(incident: Incident, assigned: IncidentAssigned, *, now: datetime) -> Outcome:
    """Record who works on the incident; a new incident becomes assigned. A reassignment only
    changes the assignee; a resolved or closed incident, or a stale assignment, changes nothing.
    The assignment itself goes into the incident's timeline."""
    if not is_open(incident.status) or is_stale(incident, assigned):
        return Outcome(incident, [])
    assignee = Assignee(assigned.agent_id, assigned.agent_name, assigned.reason)
    changed = replace(incident, assignee=assignee, updated_at=now, assigned_at=assigned.assigned_at)
    if incident.status != IncidentStatus.NEW:
        return Outcome(changed, [], causes=(assigned,))
    fact = IncidentStatusChanged(
        incident_id=incident.incident_id,
        from_status=incident.status,
        to_status=IncidentStatus.ASSIGNED,
        changed_at=now,
        changed_by=assigned.agent_id,
        reason=assigned.reason,
    )
    changed = replace(changed, status=IncidentStatus.ASSIGNED, status_changed_at=now)
    return Outcome(changed, [fact], causes=(assigned,))
