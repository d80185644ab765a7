"""Storing a group of reports in the caller's transaction, with multi-row statements: each
customer found by its identities and written once and only if it changes (`identifying`),
reference numbers from the process's block (`reference_numbers`), new incidents whose
dedup_key an open incident of the same client holds settled by the open-incident index, and
one `incident.reported.v1` event per new incident in the outbox, written by the statement that
inserts it, which also points its request's Idempotency-Key at it."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol
from uuid import uuid4

from incident_events import new_event
from incident_events.incidents import CustomerRef
from sqlalchemy.ext.asyncio import AsyncSession

from intake import domain, repository
from intake.domain import Claim, Client, Incident, IncidentReport
from intake.identifying import store_customers
from intake.reference_numbers import ReferenceNumbers
from intake.repository import ClientKey, NewIncident

SOURCE = "/intake"
# An open duplicate can be resolved between our skipped insert and our lookup; try again then.
DEDUP_ATTEMPTS = 3


@dataclass(frozen=True)
class ReportOutcome:
    incident: Incident
    deduplicated_via: str | None  # None: a new incident; else idempotency_key or dedup_key

    @property
    def created(self) -> bool:
        return self.deduplicated_via is None


class Received(Protocol):
    """A report, the client that sent it, and when it was received."""

    @property
    def report(self) -> IncidentReport: ...

    @property
    def client(self) -> Client: ...

    @property
    def now(self) -> datetime: ...

    @property
    def client_key(self) -> ClientKey | None:
        """The Idempotency-Key its request claimed, if any (client_id, key)."""


async def store_reports(
    session: AsyncSession, received: Sequence[Received], *, numbers: ReferenceNumbers
) -> list[ReportOutcome]:
    """Customers, new incidents and their events; reports repeating a dedup_key of their client,
    in the group or of an open incident, get that incident."""
    if not received:
        return []
    claims = [Claim(s.report.customer, s.client) for s in received]
    customers = await store_customers(session, claims, now=max(s.now for s in received))
    leaders = domain.first_occurrences(_dedup_key(s) for s in received)
    firsts = [
        i for i, s in enumerate(received) if (key := _dedup_key(s)) is None or leaders[key] == i
    ]
    outcomes = await _insert_incidents(session, received, firsts, customers, numbers)
    # A later report with a dedup_key of the group gets what the first one got.
    return [
        outcomes.get(i)
        or ReportOutcome(outcomes[leaders[_dedup_key(s) or ("", "")]].incident, "dedup_key")
        for i, s in enumerate(received)
    ]


def _dedup_key(received: Received) -> ClientKey | None:
    key = received.report.dedup_key
    return None if key is None else (received.client.client_id, key)


async def _insert_incidents(
    session: AsyncSession,
    received: Sequence[Received],
    positions: Sequence[int],
    customers: Sequence[CustomerRef],
    reference_numbers: ReferenceNumbers,
) -> dict[int, ReportOutcome]:
    """The outcome of each report at `positions`: its new incident, or the open incident that
    already holds its client's dedup_key."""
    outcomes: dict[int, ReportOutcome] = {}
    pending = list(positions)
    for _ in range(DEDUP_ATTEMPTS):
        numbers = await reference_numbers.take(session, count=len(pending))
        numbered = zip(pending, numbers, strict=True)
        drafts = {i: _draft(received[i], number, customers[i]) for i, number in numbered}
        new = [_new(received[i], draft) for i, draft in drafts.items()]
        inserted = await repository.insert_incidents(session, new=new)
        outcomes |= {
            i: ReportOutcome(d, None) for i, d in drafts.items() if d.incident_id in inserted
        }
        skipped = {i: _dedup_key(received[i]) or ("", "") for i in pending if i not in outcomes}
        if not skipped:
            return outcomes
        holders = await repository.open_incidents_by_dedup_key(
            session, dedup_keys=set(skipped.values())
        )
        outcomes |= {
            i: ReportOutcome(holders[key], "dedup_key")
            for i, key in skipped.items()
            if key in holders
        }
        pending = [i for i in skipped if i not in outcomes]
        if not pending:
            return outcomes
    raise RuntimeError(f"dedup_keys {sorted(skipped.values())} kept colliding")


def _new(received: Received, draft: Incident) -> NewIncident:
    """The draft with its `incident.reported.v1` event and the key its request claimed."""
    reported = new_event(
        domain.reported(draft),
        source=SOURCE,
        now=received.now,
        correlation_id=draft.incident_id,
    )
    return NewIncident(draft, reported, received.client_key)


def _draft(received: Received, number: int, customer: CustomerRef) -> Incident:
    return domain.new_incident(
        received.report,
        incident_id=str(uuid4()),
        reference=domain.format_reference(number),
        customer=customer,
        client_id=received.client.client_id,
        now=received.now,
    )
