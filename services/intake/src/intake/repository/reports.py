"""The SQL of reporting: new incidents and idempotency keys, both scoped to the client that
reported (its dedup_keys and Idempotency-Keys are its own). Customers are in `customers`.

Duplicates are settled by unique constraints (INSERT ... ON CONFLICT), never by looking first,
so concurrent identical requests cannot both create an incident. Multi-row statements take
their row locks in key order, so concurrent groups of reports cannot deadlock.
"""

from collections.abc import Collection, Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, select, tuple_, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from intake.domain import Incident
from intake.repository.incidents import to_incident, with_customer
from intake.repository.rows import unnest_rows
from intake.tables import (
    OPEN_INCIDENT,
    CustomerRow,
    IdempotencyKeyRow,
    IncidentRow,
    reference_numbers,
)

# A key as its client sent it: (client_id, key).
ClientKey = tuple[str, str]

# --- incidents ----------------------------------------------------------------------------


async def next_reference_numbers(session: AsyncSession, *, count: int) -> list[int]:
    """`count` numbers from the reference sequence, ascending, in one statement."""
    query = select(reference_numbers.next_value()).select_from(func.generate_series(1, count))
    return sorted(int(number) for number in await session.scalars(query))


async def insert_incidents(session: AsyncSession, *, incidents: Sequence[Incident]) -> set[str]:
    """Store new incidents (in client and dedup_key order); returns the ids stored. One whose
    dedup_key an open incident of its client holds is skipped, after waiting for a concurrent
    insert of the key to commit."""
    ordered = sorted(incidents, key=lambda incident: (incident.client_id, incident.dedup_key or ""))
    statement = (
        insert(IncidentRow)
        .on_conflict_do_nothing(
            index_elements=[IncidentRow.client_id, IncidentRow.dedup_key],
            index_where=OPEN_INCIDENT,
        )
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
        "client_id": incident.client_id,
        "logged_by": incident.logged_by,
        "created_at": incident.created_at,
        "updated_at": incident.updated_at,
    }


# --- idempotency keys ---------------------------------------------------------------------


async def open_incidents_by_dedup_key(
    session: AsyncSession, *, dedup_keys: Collection[ClientKey]
) -> dict[ClientKey, Incident]:
    """The open incident holding each (client_id, dedup_key)."""
    query = with_customer().where(
        tuple_(IncidentRow.client_id, IncidentRow.dedup_key).in_(list(dedup_keys)), OPEN_INCIDENT
    )
    return {
        (row[0].client_id, row[0].dedup_key or ""): to_incident(row[0], row[1])
        for row in await session.execute(query)
    }


@dataclass(frozen=True)
class KeyClaim:
    client_id: str
    key: str
    request_hash: str
    created_at: datetime


async def claim_idempotency_keys(
    session: AsyncSession, *, claims: Sequence[KeyClaim]
) -> set[ClientKey]:
    """The keys claimed now, first use. A key claimed by a concurrent transaction is waited for
    until it commits, then not returned: its request is a retry. Claims go in key order."""
    statement = (
        insert(IdempotencyKeyRow)
        .on_conflict_do_nothing(index_elements=[IdempotencyKeyRow.client_id, IdempotencyKeyRow.key])
        .returning(IdempotencyKeyRow.client_id, IdempotencyKeyRow.key)
    )
    rows = [asdict(claim) for claim in sorted(claims, key=lambda c: (c.client_id, c.key))]
    return {(client_id, key) for client_id, key in await session.execute(statement, rows)}


async def replays_of(
    session: AsyncSession, *, keys: Collection[ClientKey]
) -> dict[ClientKey, tuple[str, Incident | None]]:
    """For each stored key: the digest of its first request, and the incident it got."""
    stored = IdempotencyKeyRow
    query = (
        select(stored.client_id, stored.key, stored.request_hash, IncidentRow, CustomerRow)
        .outerjoin(IncidentRow, IncidentRow.incident_id == stored.incident_id)
        .outerjoin(CustomerRow, CustomerRow.customer_id == IncidentRow.customer_id)
        .where(tuple_(stored.client_id, stored.key).in_(list(keys)))
    )
    return {
        (client_id, key): (request_hash, to_incident(incident, customer) if incident else None)
        for client_id, key, request_hash, incident, customer in await session.execute(query)
    }


async def bind_idempotency_keys(
    session: AsyncSession, *, incident_ids: Mapping[ClientKey, str]
) -> None:
    """Point each claimed key at the incident its request got."""
    keys = sorted(incident_ids)
    bound = unnest_rows(
        "bound",
        client_id=[client_id for client_id, _ in keys],
        key=[key for _, key in keys],
        incident_id=[incident_ids[key] for key in keys],
    )
    await session.execute(
        update(IdempotencyKeyRow)
        .where(
            and_(
                IdempotencyKeyRow.client_id == bound.c.client_id,
                IdempotencyKeyRow.key == bound.c.key,
            )
        )
        .values(incident_id=bound.c.incident_id)
        .execution_options(synchronize_session=False)
    )
