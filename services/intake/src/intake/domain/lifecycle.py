"""The incident's lifecycle as a state machine:

    new -> assigned -> in_progress <-> waiting_on_customer -> resolved -> closed
                                                               resolved -> reopened -> in_progress

`assigned` is reached only through the router's assignment (it needs an agent). Any status
still being worked on may be resolved directly: a duplicate, or a question the first reply
answers, need not pass through every step. A closed incident may be reopened until it becomes
final, `closed_final_after` after it was closed; from then on nothing changes it, and the
customer writing again opens a new incident.
"""

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from incident_events import EventData
from incident_events.incidents import IncidentReopened, IncidentResolved, IncidentStatusChanged
from incident_events.types import IncidentStatus

from intake.domain.model import Incident, InvalidChange, Outcome, TransitionNotAllowed

S = IncidentStatus

# Where a request may move an incident from each status.
TRANSITIONS: Mapping[IncidentStatus, frozenset[IncidentStatus]] = {
    S.NEW: frozenset({S.RESOLVED}),
    S.ASSIGNED: frozenset({S.IN_PROGRESS, S.RESOLVED}),
    S.IN_PROGRESS: frozenset({S.WAITING_ON_CUSTOMER, S.RESOLVED}),
    S.WAITING_ON_CUSTOMER: frozenset({S.IN_PROGRESS, S.RESOLVED}),
    S.RESOLVED: frozenset({S.REOPENED, S.CLOSED}),
    S.REOPENED: frozenset({S.IN_PROGRESS, S.RESOLVED}),
    S.CLOSED: frozenset({S.REOPENED}),  # until final
}


@dataclass(frozen=True)
class LifecyclePolicy:
    closed_final_after: timedelta


@dataclass(frozen=True)
class StatusChange:
    """A request to move an incident; `resolution` is the summary the customer is told."""

    target: IncidentStatus
    reason: str
    changed_by: str | None = None
    resolution: str | None = None


def is_final(incident: Incident, *, now: datetime, policy: LifecyclePolicy) -> bool:
    closed_at = incident.closed_at
    if incident.status != S.CLOSED or closed_at is None:
        return False
    return now >= closed_at + policy.closed_final_after


def allowed_targets(
    incident: Incident, *, now: datetime, policy: LifecyclePolicy
) -> frozenset[IncidentStatus]:
    if is_final(incident, now=now, policy=policy):
        return frozenset()
    return TRANSITIONS[incident.status]


def change_status(
    incident: Incident, change: StatusChange, *, now: datetime, policy: LifecyclePolicy
) -> Outcome:
    """The incident in its new status and the facts of the move. Asking for the status it is
    already in changes nothing, so a retried request is harmless."""
    if change.resolution is not None and change.target != S.RESOLVED:
        raise InvalidChange("resolution_summary", "only when the status becomes resolved")
    if change.target == incident.status:
        return Outcome(incident, [])
    allowed = allowed_targets(incident, now=now, policy=policy)
    if change.target not in allowed:
        raise TransitionNotAllowed(incident.status, change.target, allowed)
    resolution = (change.resolution or "").strip()
    if change.target == S.RESOLVED and not resolution:
        raise InvalidChange("resolution_summary", "required when the status becomes resolved")
    moved = replace(incident, status=change.target, status_changed_at=now, updated_at=now)
    facts: list[EventData] = [status_changed(incident, change, now=now)]
    match change.target:
        case S.RESOLVED:
            moved = replace(moved, resolution=change.resolution, resolved_at=now)
            facts.append(
                IncidentResolved(
                    incident_id=incident.incident_id,
                    resolved_at=now,
                    resolution=change.resolution or "",
                    resolved_by=change.changed_by,
                )
            )
        case S.REOPENED:
            moved = replace(moved, resolved_at=None, closed_at=None)
            facts.append(
                IncidentReopened(
                    incident_id=incident.incident_id,
                    reopened_at=now,
                    reason=change.reason,
                    reopened_by=change.changed_by,
                    from_status=incident.status,
                )
            )
        case S.CLOSED:
            moved = replace(moved, closed_at=now)
    return Outcome(moved, facts)


def status_changed(incident: Incident, change: StatusChange, *, now: datetime) -> EventData:
    """The move as a fact; leaving waiting_on_customer says since when the customer was awaited."""
    waiting = incident.status == S.WAITING_ON_CUSTOMER
    return IncidentStatusChanged(
        incident_id=incident.incident_id,
        from_status=incident.status,
        to_status=change.target,
        changed_at=now,
        changed_by=change.changed_by,
        reason=change.reason,
        waiting_since=incident.status_since if waiting else None,
    )
