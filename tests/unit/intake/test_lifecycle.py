"""Intake's lifecycle state machine, table-driven: every (status, target) pair is allowed or
refused as the machine says; each move records its time and publishes the right facts; a
closed incident can be reopened only until it is final."""

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from incident_events.incidents import (
    CustomerRef,
    IncidentReopened,
    IncidentResolved,
    IncidentStatusChanged,
)
from incident_events.types import IncidentStatus, Severity
from intake import domain
from intake.domain import (
    CustomerDetails,
    Incident,
    IncidentReport,
    InvalidChange,
    LifecyclePolicy,
    StatusChange,
    TransitionNotAllowed,
)

S = IncidentStatus
T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
NOW = T0 + timedelta(hours=2)
POLICY = LifecyclePolicy(closed_final_after=timedelta(hours=72))
ANN = CustomerRef(customer_id="email:ann@example.com", email="ann@example.com")

ALLOWED = {
    (S.NEW, S.RESOLVED),
    (S.ASSIGNED, S.IN_PROGRESS),
    (S.ASSIGNED, S.RESOLVED),
    (S.IN_PROGRESS, S.WAITING_ON_CUSTOMER),
    (S.IN_PROGRESS, S.RESOLVED),
    (S.WAITING_ON_CUSTOMER, S.IN_PROGRESS),
    (S.WAITING_ON_CUSTOMER, S.RESOLVED),
    (S.RESOLVED, S.REOPENED),
    (S.RESOLVED, S.CLOSED),
    (S.REOPENED, S.IN_PROGRESS),
    (S.REOPENED, S.RESOLVED),
    (S.CLOSED, S.REOPENED),
}


def incident(status: IncidentStatus, **changes: object) -> Incident:
    report = IncidentReport(
        title="Checkout fails", severity=Severity.HIGH, customer=CustomerDetails(ANN.customer_id)
    )
    new = domain.new_incident(
        report, incident_id="i-1", reference="INC-000001", customer=ANN, client_id="env", now=T0
    )
    closed_at = T0 + timedelta(hours=1) if status == S.CLOSED else None
    changes = {"closed_at": closed_at, **changes}
    return replace(new, status=status, **changes)  # type: ignore[arg-type]


def change(target: IncidentStatus, resolution: str | None = None) -> StatusChange:
    if target == S.RESOLVED and resolution is None:
        resolution = "Card payments work again."
    return StatusChange(target, reason="because", changed_by="olga", resolution=resolution)


@pytest.mark.parametrize(
    ("current", "target"),
    [(current, target) for current in S for target in S if current != target],
)
def test_every_transition_is_allowed_or_refused_as_the_machine_says(
    current: IncidentStatus, target: IncidentStatus
) -> None:
    before = incident(current)
    if (current, target) in ALLOWED:
        outcome = domain.change_status(before, change(target), now=NOW, policy=POLICY)
        assert outcome.incident.status is target
        assert outcome.incident.status_changed_at == outcome.incident.updated_at == NOW
        moved = outcome.events[0]
        assert isinstance(moved, IncidentStatusChanged)
        assert (moved.from_status, moved.to_status, moved.changed_at) == (current, target, NOW)
        assert (moved.changed_by, moved.reason) == ("olga", "because")
    else:
        with pytest.raises(TransitionNotAllowed) as refused:
            domain.change_status(before, change(target), now=NOW, policy=POLICY)
        expected = sorted((t for c, t in ALLOWED if c == current), key=list(S).index)
        assert refused.value.allowed == expected
        assert (refused.value.current, refused.value.target) == (current, target)


def test_the_router_alone_assigns() -> None:
    assert all(target != S.ASSIGNED for _, target in ALLOWED)
    assert set(domain.TRANSITIONS) == set(S)


@pytest.mark.parametrize("status", list(S))
def test_asking_for_the_current_status_changes_nothing(status: IncidentStatus) -> None:
    before = incident(status)
    outcome = domain.change_status(before, change(status), now=NOW, policy=POLICY)
    assert outcome.incident == before and outcome.events == []


@pytest.mark.parametrize("from_status", [S.NEW, S.ASSIGNED, S.IN_PROGRESS, S.REOPENED])
def test_resolving_publishes_the_summary(from_status: IncidentStatus) -> None:
    outcome = domain.change_status(
        incident(from_status), change(S.RESOLVED, "Restarted the gateway."), now=NOW, policy=POLICY
    )
    assert outcome.incident.resolution == "Restarted the gateway."
    assert outcome.incident.resolved_at == NOW
    assert outcome.events[1:] == [
        IncidentResolved(
            incident_id="i-1",
            resolved_at=NOW,
            resolution="Restarted the gateway.",
            resolved_by="olga",
        )
    ]


@pytest.mark.parametrize(
    ("target", "resolution", "message"),
    [
        (S.RESOLVED, None, "required when the status becomes resolved"),
        (S.RESOLVED, "   ", "required when the status becomes resolved"),
        (S.WAITING_ON_CUSTOMER, "fixed", "only when the status becomes resolved"),
    ],
)
def test_resolution_summary_goes_with_resolving_only(
    target: IncidentStatus, resolution: str | None, message: str
) -> None:
    request = StatusChange(target, reason="r", resolution=resolution)
    with pytest.raises(InvalidChange) as refused:
        domain.change_status(incident(S.IN_PROGRESS), request, now=NOW, policy=POLICY)
    assert (refused.value.field, refused.value.message) == ("resolution_summary", message)


def test_leaving_waiting_on_customer_says_since_when() -> None:
    waiting_since = T0 + timedelta(minutes=40)
    waiting = incident(S.WAITING_ON_CUSTOMER, status_changed_at=waiting_since)
    outcome = domain.change_status(waiting, change(S.IN_PROGRESS), now=NOW, policy=POLICY)
    moved = outcome.events[0]
    assert isinstance(moved, IncidentStatusChanged) and moved.waiting_since == waiting_since
    entering = domain.change_status(
        incident(S.IN_PROGRESS), change(S.WAITING_ON_CUSTOMER), now=NOW, policy=POLICY
    )
    assert isinstance(entering.events[0], IncidentStatusChanged)
    assert entering.events[0].waiting_since is None


@pytest.mark.parametrize("from_status", [S.RESOLVED, S.CLOSED])
def test_reopening_clears_resolution_times_and_says_from_where(from_status: IncidentStatus) -> None:
    before = incident(from_status, resolution="done", resolved_at=T0)
    outcome = domain.change_status(before, change(S.REOPENED), now=NOW, policy=POLICY)
    assert outcome.incident.resolved_at is None and outcome.incident.closed_at is None
    assert outcome.incident.resolution == "done"  # kept: the timeline shows the old one
    assert outcome.events[1:] == [
        IncidentReopened(
            incident_id="i-1",
            reopened_at=NOW,
            reason="because",
            reopened_by="olga",
            from_status=from_status,
        )
    ]


def test_closing_records_when() -> None:
    outcome = domain.change_status(incident(S.RESOLVED), change(S.CLOSED), now=NOW, policy=POLICY)
    assert outcome.incident.closed_at == NOW and len(outcome.events) == 1


@pytest.mark.parametrize(
    ("closed_for", "final_after", "reopenable"),
    [
        (timedelta(hours=71, minutes=59), timedelta(hours=72), True),
        (timedelta(hours=72), timedelta(hours=72), False),
        (timedelta(days=30), timedelta(hours=72), False),
        (timedelta(0), timedelta(0), False),
    ],
)
def test_a_closed_incident_becomes_final(
    closed_for: timedelta, final_after: timedelta, reopenable: bool
) -> None:
    closed = incident(S.CLOSED, closed_at=T0)
    now, policy = T0 + closed_for, LifecyclePolicy(closed_final_after=final_after)
    assert domain.is_final(closed, now=now, policy=policy) is not reopenable
    expected = {S.REOPENED} if reopenable else set()
    assert domain.allowed_targets(closed, now=now, policy=policy) == expected
    if not reopenable:
        with pytest.raises(TransitionNotAllowed) as refused:
            domain.change_status(closed, change(S.REOPENED), now=now, policy=policy)
        assert refused.value.allowed == []
