"""All SQL of intake. Keyword-only functions on a caller's session; nothing here commits.

Duplicates are settled by unique constraints (INSERT ... ON CONFLICT), never by looking first,
so concurrent identical requests cannot both create an incident.
"""

from datetime import datetime

from incident_events.incidents import CustomerRef
from incident_events.types import Channel, CustomerTier, IncidentStatus, Severity
from sqlalchemy import Row, Select, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from intake.domain import Assignee, CustomerDetails, Incident
from intake.tables import (
    OPEN_INCIDENT,
    CustomerRow,
    IdempotencyKeyRow,
    IncidentRow,
    reference_numbers,
)


def to_customer(row: CustomerRow) -> CustomerRef:
    return CustomerRef(
        customer_id=row.customer_id,
        name=row.name,
        email=row.email,
        phone=row.phone,
        language=row.language,
        tier=CustomerTier(row.tier),
    )


def to_incident(row: IncidentRow, customer: CustomerRow) -> Incident:
    assignee = None
    if row.assignee_agent_id is not None:
        assignee = Assignee(row.assignee_agent_id, row.assignee_name, row.assignment_reason or "")
    return Incident(
        incident_id=row.incident_id,
        reference=row.reference,
        status=IncidentStatus(row.status),
        title=row.title,
        description=row.description,
        severity=Severity(row.severity),
        kind=row.kind,
        channel=Channel(row.channel),
        customer=to_customer(customer),
        language=row.language,
        required_skills=tuple(row.required_skills),
        dedup_key=row.dedup_key,
        assignee=assignee,
        created_at=row.created_at,
        updated_at=row.updated_at,
        assigned_at=row.assigned_at,
    )


# --- customers ----------------------------------------------------------------------------


async def upsert_customer(
    session: AsyncSession, *, details: CustomerDetails, now: datetime
) -> CustomerRef:
    """Create the customer or refresh what the report says about them; unsaid fields stay."""
    given = {
        field: value
        for field, value in {
            "name": details.name,
            "email": details.email,
            "phone": details.phone,
            "language": details.language,
            "tier": str(details.tier) if details.tier else None,
        }.items()
        if value is not None
    }
    statement = (
        insert(CustomerRow)
        .values(customer_id=details.customer_id, created_at=now, updated_at=now, **given)
        .on_conflict_do_update(
            index_elements=[CustomerRow.customer_id], set_={**given, "updated_at": now}
        )
        .returning(CustomerRow)
    )
    row = (await session.scalars(statement)).one()
    return to_customer(row)


# --- incidents ----------------------------------------------------------------------------


async def next_reference_number(session: AsyncSession) -> int:
    return int(await session.scalar(select(reference_numbers.next_value())) or 0)


async def insert_incident(session: AsyncSession, *, incident: Incident) -> bool:
    """Store a new incident; False if an open incident already holds its dedup_key."""
    statement = (
        insert(IncidentRow)
        .values(
            incident_id=incident.incident_id,
            reference=incident.reference,
            title=incident.title,
            description=incident.description,
            severity=str(incident.severity),
            kind=incident.kind,
            channel=str(incident.channel),
            status=str(incident.status),
            customer_id=incident.customer.customer_id,
            language=incident.language,
            required_skills=list(incident.required_skills),
            dedup_key=incident.dedup_key,
            created_at=incident.created_at,
            updated_at=incident.updated_at,
        )
        # Waits for a concurrent insert of the same key, then yields to it.
        .on_conflict_do_nothing(index_elements=[IncidentRow.dedup_key], index_where=OPEN_INCIDENT)
        .returning(IncidentRow.incident_id)
    )
    return (await session.execute(statement)).first() is not None


def _with_customer() -> Select[IncidentRow, CustomerRow]:
    return select(IncidentRow, CustomerRow).join(
        CustomerRow, CustomerRow.customer_id == IncidentRow.customer_id
    )


def _incident_of(row: Row[IncidentRow, CustomerRow] | None) -> Incident | None:
    return to_incident(row[0], row[1]) if row else None


async def get_incident(session: AsyncSession, *, incident_id: str) -> Incident | None:
    query = _with_customer().where(IncidentRow.incident_id == incident_id)
    return _incident_of((await session.execute(query)).first())


async def lock_incident(session: AsyncSession, *, incident_id: str) -> Incident | None:
    """The incident, locked until commit so concurrent changes to it apply one after another."""
    query = (
        _with_customer()
        .where(IncidentRow.incident_id == incident_id)
        .with_for_update(of=IncidentRow)
    )
    return _incident_of((await session.execute(query)).first())


async def open_incident_by_dedup_key(session: AsyncSession, *, dedup_key: str) -> Incident | None:
    query = _with_customer().where(IncidentRow.dedup_key == dedup_key, OPEN_INCIDENT)
    return _incident_of((await session.execute(query)).first())


async def save_assignment(session: AsyncSession, *, incident: Incident) -> None:
    assignee = incident.assignee
    await session.execute(
        update(IncidentRow)
        .where(IncidentRow.incident_id == incident.incident_id)
        .values(
            status=str(incident.status),
            assignee_agent_id=assignee.agent_id if assignee else None,
            assignee_name=assignee.name if assignee else None,
            assignment_reason=assignee.reason if assignee else None,
            assigned_at=incident.assigned_at,
            updated_at=incident.updated_at,
        )
    )


# --- idempotency keys ---------------------------------------------------------------------


async def claim_idempotency_key(
    session: AsyncSession, *, key: str, request_hash: str, now: datetime
) -> bool:
    """True for the first request with this key; a concurrent twin waits here for its commit."""
    statement = (
        insert(IdempotencyKeyRow)
        .values(key=key, request_hash=request_hash, created_at=now)
        .on_conflict_do_nothing(index_elements=[IdempotencyKeyRow.key])
        .returning(IdempotencyKeyRow.key)
    )
    return (await session.execute(statement)).first() is not None


async def get_idempotency_key(session: AsyncSession, *, key: str) -> IdempotencyKeyRow | None:
    return await session.get(IdempotencyKeyRow, key)


async def bind_idempotency_key(session: AsyncSession, *, key: str, incident_id: str) -> None:
    await session.execute(
        update(IdempotencyKeyRow)
        .where(IdempotencyKeyRow.key == key)
        .values(incident_id=incident_id)
    )
