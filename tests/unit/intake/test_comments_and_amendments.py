"""Comments and amendments in intake's domain, table-driven: the first public agent reply is
marked once, a customer's reply ends a wait, closed incidents take no comments; severity and
kind changes are facts of their own; the public timeline hides internal facts."""

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from incident_events.incidents import (
    CustomerRef,
    IncidentCommented,
    IncidentKindChanged,
    IncidentReopened,
    IncidentResolved,
    IncidentSeverityChanged,
    IncidentStatusChanged,
)
from incident_events.routing import IncidentAssigned
from incident_events.types import AuthorKind, IncidentKind, IncidentStatus, Severity, Visibility
from intake import domain
from intake.domain import (
    Amendment,
    Comment,
    CustomerDetails,
    Incident,
    IncidentNotOpen,
    IncidentReport,
    InvalidChange,
)

S = IncidentStatus
T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
NOW = T0 + timedelta(minutes=20)
ANN = CustomerRef(customer_id="email:ann@example.com", email="ann@example.com")
AGENT, CUSTOMER = AuthorKind.AGENT, AuthorKind.CUSTOMER
PUBLIC, INTERNAL = Visibility.PUBLIC, Visibility.INTERNAL


def incident(status: IncidentStatus, **changes: object) -> Incident:
    report = IncidentReport(
        title="Checkout fails", severity=Severity.HIGH, customer=CustomerDetails(ANN.customer_id)
    )
    new = domain.new_incident(
        report, incident_id="i-1", reference="INC-000001", customer=ANN, client_id="env", now=T0
    )
    return replace(new, status=status, **changes)  # type: ignore[arg-type]


def comment(kind: AuthorKind, visibility: Visibility, author_id: str | None = None) -> Comment:
    author = author_id if author_id is not None or kind == CUSTOMER else "olga"
    return Comment("c-1", kind, author, visibility, "<b>Hello</b> & welcome")


@pytest.mark.parametrize(
    ("author", "visibility", "replied_before", "first_reply"),
    [
        (AGENT, PUBLIC, False, True),
        (AGENT, PUBLIC, True, False),
        (AGENT, INTERNAL, False, False),
        (CUSTOMER, PUBLIC, False, False),
    ],
)
def test_the_first_public_agent_reply_is_marked_once(
    author: AuthorKind, visibility: Visibility, replied_before: bool, first_reply: bool
) -> None:
    earlier = T0 + timedelta(minutes=5) if replied_before else None
    before = incident(S.IN_PROGRESS, first_agent_reply_at=earlier)
    outcome = domain.add_comment(before, comment(author, visibility), now=NOW)
    fact = outcome.events[0]
    assert isinstance(fact, IncidentCommented)
    assert fact.first_agent_reply is first_reply
    assert fact.body == "<b>Hello</b> & welcome"  # as given; escaping is the renderer's
    assert (fact.author_kind, fact.visibility, fact.commented_at) == (author, visibility, NOW)
    assert outcome.incident.first_agent_reply_at == (NOW if first_reply else earlier)
    assert outcome.incident.status is S.IN_PROGRESS and len(outcome.events) == 1


@pytest.mark.parametrize(
    ("status", "author", "moves_to"),
    [
        (S.WAITING_ON_CUSTOMER, CUSTOMER, S.IN_PROGRESS),
        (S.WAITING_ON_CUSTOMER, AGENT, None),
        (S.IN_PROGRESS, CUSTOMER, None),
        (S.RESOLVED, CUSTOMER, None),
        (S.NEW, CUSTOMER, None),
    ],
)
def test_a_customer_reply_ends_the_wait(
    status: IncidentStatus, author: AuthorKind, moves_to: IncidentStatus | None
) -> None:
    waiting_since = T0 + timedelta(minutes=10)
    before = incident(status, status_changed_at=waiting_since)
    outcome = domain.add_comment(before, comment(author, PUBLIC), now=NOW)
    if moves_to is None:
        assert outcome.incident.status is status and len(outcome.events) == 1
        return
    assert outcome.incident.status is moves_to and outcome.incident.status_changed_at == NOW
    assert outcome.events[1] == IncidentStatusChanged(
        incident_id="i-1",
        from_status=status,
        to_status=moves_to,
        changed_at=NOW,
        changed_by=ANN.customer_id,
        reason="the customer replied",
        waiting_since=waiting_since,
    )


@pytest.mark.parametrize(
    ("status", "request_", "error", "field"),
    [
        (S.CLOSED, comment(AGENT, PUBLIC), IncidentNotOpen, None),
        (S.CLOSED, comment(CUSTOMER, PUBLIC), IncidentNotOpen, None),
        (S.IN_PROGRESS, comment(CUSTOMER, INTERNAL), InvalidChange, "visibility"),
        (S.IN_PROGRESS, comment(CUSTOMER, PUBLIC, "email:eve@x.org"), InvalidChange, "author.id"),
    ],
)
def test_comments_refused(
    status: IncidentStatus, request_: Comment, error: type[Exception], field: str | None
) -> None:
    with pytest.raises(error) as refused:
        domain.add_comment(incident(status), request_, now=NOW)
    if field is not None:
        assert isinstance(refused.value, InvalidChange) and refused.value.field == field


def test_a_customer_comment_carries_the_customers_id() -> None:
    outcome = domain.add_comment(incident(S.IN_PROGRESS), comment(CUSTOMER, PUBLIC), now=NOW)
    fact = outcome.events[0]
    assert isinstance(fact, IncidentCommented) and fact.author_id == ANN.customer_id


@pytest.mark.parametrize(
    ("amendment", "facts"),
    [
        (Amendment(severity=Severity.CRITICAL), ["severity_changed"]),
        (Amendment(kind=IncidentKind.BILLING), ["kind_changed"]),
        (
            Amendment(severity=Severity.LOW, kind=IncidentKind.COMPLAINT),
            ["severity_changed", "kind_changed"],
        ),
        (Amendment(severity=Severity.HIGH, kind=IncidentKind.INCIDENT), []),
    ],
)
def test_amendments_are_facts_of_their_own(amendment: Amendment, facts: list[str]) -> None:
    before = incident(S.IN_PROGRESS)
    outcome = domain.amend(before, replace(amendment, reason="misfiled"), now=NOW)
    assert [f.event_type for f in outcome.events] == [f"incident.{f}.v1" for f in facts]
    assert outcome.incident.severity == (amendment.severity or before.severity)
    assert outcome.incident.kind == (amendment.kind or before.kind)
    assert outcome.incident.updated_at == (NOW if facts else T0)
    for fact in outcome.events:
        assert isinstance(fact, IncidentSeverityChanged | IncidentKindChanged)
        assert fact.reason == "misfiled" and fact.changed_at == NOW


@pytest.mark.parametrize("status", [S.RESOLVED, S.CLOSED])
def test_resolved_or_closed_incidents_are_not_amended(status: IncidentStatus) -> None:
    with pytest.raises(IncidentNotOpen):
        domain.amend(incident(status), Amendment(severity=Severity.LOW), now=NOW)


def _commented(visibility: Visibility) -> IncidentCommented:
    return IncidentCommented(
        incident_id="i-1",
        comment_id="c",
        author_kind="agent",
        visibility=visibility,
        body="b",
        commented_at=NOW,
    )


@pytest.mark.parametrize(
    ("fact", "public"),
    [
        (_commented(PUBLIC), True),
        (_commented(INTERNAL), False),
        (
            IncidentStatusChanged(
                incident_id="i-1", from_status=S.NEW, to_status=S.ASSIGNED, changed_at=NOW
            ),
            True,
        ),
        (IncidentResolved(incident_id="i-1", resolved_at=NOW, resolution="r"), True),
        (IncidentReopened(incident_id="i-1", reopened_at=NOW), False),
        (
            IncidentAssigned(
                incident_id="i-1", agent_id="olga", agent_name=None, reason="r", assigned_at=NOW
            ),
            True,
        ),
        (
            IncidentSeverityChanged(
                incident_id="i-1", from_severity="low", to_severity="high", changed_at=NOW
            ),
            False,
        ),
    ],
)
def test_what_the_public_timeline_shows(fact: object, public: bool) -> None:
    assert domain.is_public(fact) is public  # type: ignore[arg-type]
