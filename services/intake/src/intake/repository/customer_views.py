"""The SQL behind the customer API: finding a customer by any of its external ids, its record
with identities, possible duplicates and incidents per channel and status, and the changes an
admin makes to it."""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from incident_events.incidents import CustomerRef
from sqlalchemy import func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from intake.domain import Identity
from intake.domain.customers import IdentityKind
from intake.repository.incidents import to_customer
from intake.tables import CustomerDuplicateRow, CustomerIdentityRow, CustomerRow, IncidentRow


@dataclass(frozen=True)
class IncidentCount:
    channel: str
    status: str
    count: int


@dataclass(frozen=True)
class CustomerRecord:
    customer: CustomerRef
    created_at: datetime
    updated_at: datetime
    created_by_client: str | None
    identities: list[Identity]
    possible_duplicates: list[str]
    incidents: list[IncidentCount]


async def find_customer_id(session: AsyncSession, *, named: str) -> str | None:
    """The customer an id names: its own id, or an external id another report linked to it."""
    query = select(CustomerIdentityRow.customer_id).where(
        CustomerIdentityRow.kind == str(IdentityKind.EXTERNAL), CustomerIdentityRow.value == named
    )
    found = await session.scalar(query)
    if found is None:  # a customer whose own id another customer owned before (merged data)
        found = await session.scalar(
            select(CustomerRow.customer_id).where(CustomerRow.customer_id == named)
        )
    return found


async def customer_record(session: AsyncSession, *, customer_id: str) -> CustomerRecord | None:
    row = await session.get(CustomerRow, customer_id, populate_existing=True)
    if row is None:
        return None
    identities = await session.execute(
        select(CustomerIdentityRow.kind, CustomerIdentityRow.value)
        .where(CustomerIdentityRow.customer_id == customer_id)
        .order_by(CustomerIdentityRow.kind, CustomerIdentityRow.value)
    )
    duplicates = CustomerDuplicateRow
    others = await session.scalars(
        select(duplicates.other_customer_id)
        .where(duplicates.customer_id == customer_id)
        .union(select(duplicates.customer_id).where(duplicates.other_customer_id == customer_id))
    )
    counts = await session.execute(
        select(IncidentRow.channel, IncidentRow.status, func.count())
        .where(IncidentRow.customer_id == customer_id)
        .group_by(IncidentRow.channel, IncidentRow.status)
        .order_by(IncidentRow.channel, IncidentRow.status)
    )
    return CustomerRecord(
        customer=to_customer(row),
        created_at=row.created_at,
        updated_at=row.updated_at,
        created_by_client=row.created_by_client,
        identities=[Identity(IdentityKind(kind), value) for kind, value in identities],
        possible_duplicates=sorted(others),
        incidents=[IncidentCount(channel, status, n) for channel, status, n in counts],
    )


async def amend_customer(
    session: AsyncSession, *, customer_id: str, values: Mapping[str, str | None], now: datetime
) -> bool:
    """Set fields of the customer's record; False if there is no such customer. Writes only
    when something differs, so repeating a change leaves the row alone."""
    differs = or_(*(getattr(CustomerRow, f).is_distinct_from(v) for f, v in values.items()))
    changed = await session.execute(
        update(CustomerRow)
        .where(CustomerRow.customer_id == customer_id, differs)
        .values({**values, "updated_at": now})
        .returning(CustomerRow.customer_id)
    )
    if changed.first() is not None:
        return True
    exists = select(CustomerRow.customer_id).where(CustomerRow.customer_id == customer_id)
    return await session.scalar(exists) is not None
