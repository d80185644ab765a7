"""Storing a group of reports in the caller's transaction, with multi-row statements: each
customer written once and only if it changes, reference numbers from one statement, new
incidents whose dedup_key an open incident holds settled by the open-incident index, and one
`incident.reported.v1` event per new incident in the outbox."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol
from uuid import uuid4

from incident_events import new_event
from incident_events.incidents import CustomerRef
from incident_kit.outbox import add_events
from sqlalchemy.ext.asyncio import AsyncSession

from intake import domain, repository
from intake.domain import CustomerDetails, Incident, IncidentReport
from intake.tables import outbox

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
    """A report and when it was received."""

    @property
    def report(self) -> IncidentReport: ...

    @property
    def now(self) -> datetime: ...


async def store_reports(session: AsyncSession, received: Sequence[Received]) -> list[ReportOutcome]:
    """Customers, new incidents and their events; reports repeating a dedup_key of the group
    or of an open incident get that incident."""
    if not received:
        return []
    details = domain.merge_customer_details(s.report.customer for s in received)
    customers = await _store_customers(session, details, now=max(s.now for s in received))
    leaders = domain.first_occurrences(s.report.dedup_key for s in received)
    firsts = [
        i
        for i, s in enumerate(received)
        if s.report.dedup_key is None or leaders[s.report.dedup_key] == i
    ]
    outcomes = await _insert_incidents(session, received, firsts, customers)
    events = [
        new_event(
            domain.reported(o.incident),
            source=SOURCE,
            now=received[i].now,
            correlation_id=o.incident.incident_id,
        )
        for i, o in outcomes.items()
        if o.created
    ]
    await add_events(session, outbox, events)
    # A later report with a dedup_key of the group gets what the first one got.
    return [
        outcomes.get(i)
        or ReportOutcome(outcomes[leaders[s.report.dedup_key or ""]].incident, "dedup_key")
        for i, s in enumerate(received)
    ]


async def _store_customers(
    session: AsyncSession, details: Sequence[CustomerDetails], *, now: datetime
) -> dict[str, CustomerRef]:
    """Each customer as stored after the group's details are applied, writing only the rows
    that change. Looking first only spares locks; conflicts are still settled by the writes."""
    known = await repository.get_customers(session, customer_ids=[d.customer_id for d in details])
    missing = [domain.new_customer(d) for d in details if d.customer_id not in known]
    inserted = (
        await repository.insert_customers(session, customers=missing, now=now) if missing else {}
    )
    # Changed, or stored by a concurrent group since we looked: compared again under lock.
    stale = [
        d
        for d in details
        if d.customer_id not in inserted
        and (d.customer_id not in known or domain.customer_changed(known[d.customer_id], d))
    ]
    updated = await repository.update_customers(session, details=stale, now=now) if stale else {}
    # What a concurrent group stored meanwhile, already saying what our reports say.
    unsettled = [d.customer_id for d in stale if d.customer_id not in updated]
    settled = await repository.get_customers(session, customer_ids=unsettled) if unsettled else {}
    return {**known, **inserted, **updated, **settled}


async def _insert_incidents(
    session: AsyncSession,
    received: Sequence[Received],
    positions: Sequence[int],
    customers: dict[str, CustomerRef],
) -> dict[int, ReportOutcome]:
    """The outcome of each report at `positions`: its new incident, or the open incident that
    already holds its dedup_key."""
    outcomes: dict[int, ReportOutcome] = {}
    pending = list(positions)
    for _ in range(DEDUP_ATTEMPTS):
        numbers = await repository.next_reference_numbers(session, count=len(pending))
        numbered = zip(pending, numbers, strict=True)
        drafts = {i: _draft(received[i], number, customers) for i, number in numbered}
        inserted = await repository.insert_incidents(session, incidents=list(drafts.values()))
        outcomes |= {
            i: ReportOutcome(d, None) for i, d in drafts.items() if d.incident_id in inserted
        }
        skipped = {i: received[i].report.dedup_key or "" for i in pending if i not in outcomes}
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


def _draft(received: Received, number: int, customers: dict[str, CustomerRef]) -> Incident:
    return domain.new_incident(
        received.report,
        incident_id=str(uuid4()),
        reference=domain.format_reference(number),
        customer=customers[received.report.customer.customer_id],
        now=received.now,
    )
