"""Reporting an incident, in one transaction: replay an Idempotency-Key, absorb a duplicate
dedup_key, or store the customer, the incident and its `incident.reported.v1` event together."""

from dataclasses import dataclass
from datetime import datetime
from uuid import uuid4

from incident_events import new_event
from incident_kit.outbox import add_events
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from intake import domain, repository
from intake.domain import Incident, IncidentReport
from intake.tables import outbox

SOURCE = "/intake"
# An open duplicate can be resolved between our failed insert and our lookup; try again then.
DEDUP_ATTEMPTS = 3


@dataclass(frozen=True)
class ReportOutcome:
    incident: Incident
    deduplicated_via: str | None  # None: a new incident; else idempotency_key or dedup_key

    @property
    def created(self) -> bool:
        return self.deduplicated_via is None


async def report_incident(
    sessions: async_sessionmaker[AsyncSession],
    *,
    report: IncidentReport,
    fingerprint: str,
    idempotency_key: str | None,
    now: datetime,
) -> ReportOutcome:
    """The incident this report stands for, new or existing; raises IdempotencyKeyReused."""
    async with sessions.begin() as session:
        if idempotency_key is not None:
            claimed = await repository.claim_idempotency_key(
                session, key=idempotency_key, request_hash=fingerprint, now=now
            )
            if not claimed:
                return await _replay(session, key=idempotency_key, fingerprint=fingerprint)
        outcome = await _store(session, report=report, now=now)
        if idempotency_key is not None:
            await repository.bind_idempotency_key(
                session, key=idempotency_key, incident_id=outcome.incident.incident_id
            )
        return outcome


async def _replay(session: AsyncSession, *, key: str, fingerprint: str) -> ReportOutcome:
    """The answer the first request with this key got (it has committed: we waited for it)."""
    row = await repository.get_idempotency_key(session, key=key)
    if row is None or row.request_hash != fingerprint:
        raise domain.IdempotencyKeyReused(key)
    incident = await repository.get_incident(session, incident_id=row.incident_id or "")
    if incident is None:
        raise RuntimeError(f"idempotency key {key!r} points at no incident")
    return ReportOutcome(incident, deduplicated_via="idempotency_key")


async def _store(session: AsyncSession, *, report: IncidentReport, now: datetime) -> ReportOutcome:
    customer = await repository.upsert_customer(session, details=report.customer, now=now)
    for _ in range(DEDUP_ATTEMPTS):
        number = await repository.next_reference_number(session)
        incident = domain.new_incident(
            report,
            incident_id=str(uuid4()),
            reference=domain.format_reference(number),
            customer=customer,
            now=now,
        )
        if await repository.insert_incident(session, incident=incident):
            event = new_event(
                domain.reported(incident),
                source=SOURCE,
                now=now,
                correlation_id=incident.incident_id,
            )
            await add_events(session, outbox, [event])
            return ReportOutcome(incident, deduplicated_via=None)
        existing = await repository.open_incident_by_dedup_key(
            session, dedup_key=report.dedup_key or ""
        )
        if existing is not None:
            return ReportOutcome(existing, deduplicated_via="dedup_key")
    raise RuntimeError(f"dedup_key {report.dedup_key!r} kept colliding")
