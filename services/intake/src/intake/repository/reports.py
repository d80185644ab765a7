"""The SQL of reporting: customers, new incidents and idempotency keys.

Duplicates are settled by unique constraints (INSERT ... ON CONFLICT), never by looking first,
so concurrent identical requests cannot both create an incident. Multi-row statements take
their row locks in key order, so concurrent groups of reports cannot deadlock.
"""

from collections.abc import Collection, Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from incident_events.incidents import CustomerRef
from sqlalchemy import Text, and_, bindparam, func, or_, select, update
from sqlalchemy.dialects.postgresql import ARRAY, insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.selectable import TableValuedAlias

from intake.domain import CUSTOMER_FIELDS, CustomerDetails, Incident
from intake.repository.incidents import to_customer, to_incident
from intake.tables import (
    OPEN_INCIDENT,
    CustomerRow,
    IdempotencyKeyRow,
    IncidentRow,
    reference_numbers,
)

# --- customers ----------------------------------------------------------------------------


async def get_customers(
    session: AsyncSession, *, customer_ids: Collection[str]
) -> dict[str, CustomerRef]:
    # Fresh from the database even if this session loaded the rows before.
    query = (
        select(CustomerRow)
        .where(CustomerRow.customer_id.in_(customer_ids))
        .execution_options(populate_existing=True)
    )
    return {row.customer_id: to_customer(row) for row in await session.scalars(query)}


async def insert_customers(
    session: AsyncSession, *, customers: Sequence[CustomerRef], now: datetime
) -> dict[str, CustomerRef]:
    """Create the customers not stored yet (in key order); those stored meanwhile are left
    alone and not returned."""
    rows = [
        {**customer.model_dump(mode="json"), "created_at": now, "updated_at": now}
        for customer in sorted(customers, key=lambda customer: customer.customer_id)
    ]
    statement = (
        insert(CustomerRow)
        .on_conflict_do_nothing(index_elements=[CustomerRow.customer_id])
        .returning(CustomerRow)
        .execution_options(render_nulls=True)  # else rows with other NULLs go in another INSERT
    )
    return {row.customer_id: to_customer(row) for row in await session.scalars(statement, rows)}


async def update_customers(
    session: AsyncSession, *, details: Sequence[CustomerDetails], now: datetime
) -> dict[str, CustomerRef]:
    """Apply what reports state to stored customers, returning those that changed.

    Rows that already say the same are neither locked nor returned: INSERT ... ON CONFLICT DO
    UPDATE would lock them even when its WHERE skips the update, and a burst of identical
    reports would then queue on one row. Changed rows are locked in key order (FOR NO KEY
    UPDATE under ORDER BY), so concurrent groups cannot deadlock on them.
    """
    given = _rows(
        "given",
        customer_id=[d.customer_id for d in details],
        **{f: [_text(getattr(d, f)) for d in details] for f in CUSTOMER_FIELDS},
    )
    stored = {name: getattr(CustomerRow, name) for name in CUSTOMER_FIELDS}
    differs = or_(
        *(and_(given.c[f].is_not(None), given.c[f].is_distinct_from(stored[f])) for f in stored)
    )
    locked = (
        select(CustomerRow.customer_id)
        .join(given, given.c.customer_id == CustomerRow.customer_id)
        .where(differs)
        .order_by(CustomerRow.customer_id)
        .with_for_update(of=CustomerRow, key_share=True)
        .cte("locked")
    )
    statement = (
        update(CustomerRow)
        .where(CustomerRow.customer_id == given.c.customer_id)
        .where(CustomerRow.customer_id.in_(select(locked.c.customer_id)))
        .values({**{f: func.coalesce(given.c[f], stored[f]) for f in stored}, "updated_at": now})
        .returning(CustomerRow)
        .execution_options(synchronize_session=False)
    )
    return {row.customer_id: to_customer(row) for row in await session.scalars(statement)}


def _text(value: object) -> str | None:
    return None if value is None else str(value)


def _rows(alias: str, /, **columns: Sequence[str | None]) -> TableValuedAlias:
    """Rows from parallel text arrays, `unnest(:a, :b, ...) AS alias(a, b, ...)`: unlike VALUES,
    the statement is the same for any number of rows, so SQLAlchemy compiles it once."""
    arrays = (bindparam(name, list(values), type_=ARRAY(Text)) for name, values in columns.items())
    return func.unnest(*arrays).table_valued(*columns).render_derived(name=alias)


# --- incidents ----------------------------------------------------------------------------


async def next_reference_numbers(session: AsyncSession, *, count: int) -> list[int]:
    """`count` numbers from the reference sequence, ascending, in one statement."""
    query = select(reference_numbers.next_value()).select_from(func.generate_series(1, count))
    return sorted(int(number) for number in await session.scalars(query))


async def insert_incidents(session: AsyncSession, *, incidents: Sequence[Incident]) -> set[str]:
    """Store new incidents (in dedup_key order); returns the ids stored. One whose dedup_key an
    open incident holds is skipped, after waiting for a concurrent insert of the key to commit."""
    ordered = sorted(incidents, key=lambda incident: incident.dedup_key or "")
    statement = (
        insert(IncidentRow)
        .on_conflict_do_nothing(index_elements=[IncidentRow.dedup_key], index_where=OPEN_INCIDENT)
        .returning(IncidentRow.incident_id)
        .execution_options(render_nulls=True)  # else rows with other NULLs go in another INSERT
    )
    return set(await session.scalars(statement, [_incident_values(i) for i in ordered]))


def _incident_values(incident: Incident) -> dict[str, Any]:
    return {
        "incident_id": incident.incident_id,
        "reference": incident.reference,
        "title": incident.title,
        "description": incident.description,
        "severity": str(incident.severity),
        "kind": incident.kind,
        "channel": str(incident.channel),
        "status": str(incident.status),
        "customer_id": incident.customer.customer_id,
        "language": incident.language,
        "required_skills": list(incident.required_skills),
        "dedup_key": incident.dedup_key,
        "logged_by": incident.logged_by,
        "created_at": incident.created_at,
        "updated_at": incident.updated_at,
    }


# --- idempotency keys ---------------------------------------------------------------------


@dataclass(frozen=True)
class KeyClaim:
    key: str
    request_hash: str
    created_at: datetime


async def claim_idempotency_keys(session: AsyncSession, *, claims: Sequence[KeyClaim]) -> set[str]:
    """The keys claimed now, first use. A key claimed by a concurrent transaction is waited for
    until it commits, then not returned: its request is a retry. Claims go in key order."""
    statement = (
        insert(IdempotencyKeyRow)
        .on_conflict_do_nothing(index_elements=[IdempotencyKeyRow.key])
        .returning(IdempotencyKeyRow.key)
    )
    rows = [asdict(claim) for claim in sorted(claims, key=lambda claim: claim.key)]
    return set(await session.scalars(statement, rows))


async def replays_of(
    session: AsyncSession, *, keys: Collection[str]
) -> dict[str, tuple[str, Incident | None]]:
    """For each stored key: the digest of its first request, and the incident it got."""
    query = (
        select(IdempotencyKeyRow.key, IdempotencyKeyRow.request_hash, IncidentRow, CustomerRow)
        .outerjoin(IncidentRow, IncidentRow.incident_id == IdempotencyKeyRow.incident_id)
        .outerjoin(CustomerRow, CustomerRow.customer_id == IncidentRow.customer_id)
        .where(IdempotencyKeyRow.key.in_(keys))
    )
    return {
        key: (request_hash, to_incident(incident, customer) if incident else None)
        for key, request_hash, incident, customer in await session.execute(query)
    }


async def bind_idempotency_keys(session: AsyncSession, *, incident_ids: Mapping[str, str]) -> None:
    """Point each claimed key at the incident its request got."""
    keys = sorted(incident_ids)
    bound = _rows("bound", key=keys, incident_id=[incident_ids[key] for key in keys])
    await session.execute(
        update(IdempotencyKeyRow)
        .where(IdempotencyKeyRow.key == bound.c.key)
        .values(incident_id=bound.c.incident_id)
        .execution_options(synchronize_session=False)
    )
