"""Intake's pure domain, table-driven: customer ids, references, fingerprints, new incidents
and what an assignment does to an incident in each status."""

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from incident_events.incidents import CustomerRef, IncidentStatusChanged
from incident_events.routing import IncidentAssigned
from incident_events.types import Channel, IncidentStatus, Severity
from intake import domain
from intake.domain import Assignee, CustomerDetails, Incident, IncidentReport

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
ANN = CustomerRef(customer_id="email:ann@example.com", email="ann@example.com", language="cs")


def report(**changes: object) -> IncidentReport:
    base = IncidentReport(
        title="Checkout fails",
        severity=Severity.HIGH,
        customer=CustomerDetails(customer_id=ANN.customer_id),
        required_skills=("payments", "checkout", "payments"),
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def incident(status: IncidentStatus, assignee: Assignee | None = None) -> Incident:
    new = domain.new_incident(
        report(), incident_id="i-1", reference="INC-000001", customer=ANN, client_id="env", now=T0
    )
    return replace(new, status=status, assignee=assignee)


def assigned(agent_id: str = "agent-7") -> IncidentAssigned:
    return IncidentAssigned(
        incident_id="i-1", agent_id=agent_id, agent_name="Eva", reason="skills", assigned_at=T0
    )


@pytest.mark.parametrize(
    ("customer_id", "email", "phone", "expected"),
    [
        ("crm-42", "ann@example.com", None, "crm-42"),
        (None, "Ann@Example.COM", None, "email:ann@example.com"),
        (None, None, "+420 123 456 789", "phone:+420123456789"),
        (None, "ann@example.com", "+420 1", "email:ann@example.com"),
        (None, None, None, None),
        ("", None, None, None),
    ],
)
def test_derive_customer_id(
    customer_id: str | None, email: str | None, phone: str | None, expected: str | None
) -> None:
    actual = domain.derive_customer_id(customer_id=customer_id, email=email, phone=phone)
    assert actual == expected


@pytest.mark.parametrize(
    ("number", "expected"),
    [(1, "INC-000001"), (42, "INC-000042"), (999_999, "INC-999999"), (1_234_567, "INC-1234567")],
)
def test_format_reference(number: int, expected: str) -> None:
    assert domain.format_reference(number) == expected


@pytest.mark.parametrize(
    ("first", "second", "same"),
    [
        ({"a": 1, "b": [1, 2]}, {"b": [1, 2], "a": 1}, True),
        ({"title": "x"}, {"title": "x "}, False),
        ({"a": [1, 2]}, {"a": [2, 1]}, False),
        ({"t": "žluťoučký"}, {"t": "žluťoučký"}, True),
    ],
)
def test_request_fingerprint(
    first: dict[str, object], second: dict[str, object], same: bool
) -> None:
    assert (domain.request_fingerprint(first) == domain.request_fingerprint(second)) is same


@pytest.mark.parametrize(
    ("language", "expected"),
    [(None, "cs"), ("de", "de")],
)
def test_new_incident_language_defaults_to_customers(language: str | None, expected: str) -> None:
    new = domain.new_incident(
        report(language=language),
        incident_id="i-1",
        reference="INC-000001",
        customer=ANN,
        client_id="env",
        now=T0,
    )
    assert new.language == expected
    assert new.status is IncidentStatus.NEW
    assert new.required_skills == ("payments", "checkout")
    assert new.created_at == new.updated_at == T0


def test_reported_carries_the_incident() -> None:
    new = domain.new_incident(
        report(dedup_key="db-down"),
        incident_id="i-1",
        reference="INC-000001",
        customer=ANN,
        client_id="env",
        now=T0,
    )
    fact = domain.reported(new)
    assert (fact.incident_id, fact.reference, fact.dedup_key) == ("i-1", "INC-000001", "db-down")
    assert fact.channel is Channel.API and fact.reported_at == T0
    assert fact.customer == ANN and fact.required_skills == ["payments", "checkout"]


PREVIOUS = Assignee("agent-1", "Jan", "load")


@pytest.mark.parametrize(
    ("status", "before", "to_status", "emits", "assignee_set"),
    [
        (IncidentStatus.NEW, None, IncidentStatus.ASSIGNED, True, True),
        (IncidentStatus.ASSIGNED, PREVIOUS, IncidentStatus.ASSIGNED, False, True),
        (IncidentStatus.IN_PROGRESS, PREVIOUS, IncidentStatus.IN_PROGRESS, False, True),
        (IncidentStatus.WAITING_ON_CUSTOMER, None, IncidentStatus.WAITING_ON_CUSTOMER, False, True),
        (IncidentStatus.RESOLVED, PREVIOUS, IncidentStatus.RESOLVED, False, False),
        (IncidentStatus.CLOSED, None, IncidentStatus.CLOSED, False, False),
    ],
)
def test_assign(
    status: IncidentStatus,
    before: Assignee | None,
    to_status: IncidentStatus,
    emits: bool,
    assignee_set: bool,
) -> None:
    now = T0 + timedelta(minutes=3)
    outcome = domain.assign(incident(status, before), assigned(), now=now)
    assert outcome.incident.status is to_status
    expected_assignee = Assignee("agent-7", "Eva", "skills") if assignee_set else before
    assert outcome.incident.assignee == expected_assignee
    assert outcome.incident.updated_at == (now if assignee_set else T0)
    if emits:
        assert outcome.events == [
            IncidentStatusChanged(
                incident_id="i-1",
                from_status=status,
                to_status=to_status,
                changed_at=now,
                changed_by="agent-7",
                reason="skills",
            )
        ]
    else:
        assert outcome.events == []


@pytest.mark.parametrize(
    ("status", "is_open"),
    [(s, s not in {IncidentStatus.RESOLVED, IncidentStatus.CLOSED}) for s in IncidentStatus],
)
def test_is_open(status: IncidentStatus, is_open: bool) -> None:
    assert domain.is_open(status) is is_open
