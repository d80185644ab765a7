"""The SQL of customers as reports find and change them: who owns which identity, the locks
under which new identities are claimed, new customers, their changes, links and possible
duplicates.

Rows that already say what the reports say are neither locked nor written; the rest are locked
in key order (identities by advisory lock, customers FOR NO KEY UPDATE under ORDER BY), so
concurrent groups of reports cannot deadlock.
"""

from collections.abc import Collection, Mapping, Sequence
from datetime import datetime

from incident_events.incidents import CustomerRef
from sqlalchemy import Text, and_, bindparam, func, or_, select, text, update
from sqlalchemy.dialects.postgresql import ARRAY, insert
from sqlalchemy.ext.asyncio import AsyncSession

from intake.domain import CUSTOMER_FIELDS, CustomerChange, Duplicate, Identity, KnownCustomer
from intake.domain.customers import IdentityKind
from intake.repository.incidents import to_customer
from intake.repository.rows import as_text, unnest_rows
from intake.tables import CustomerDuplicateRow, CustomerIdentityRow, CustomerRow

# The class id of identity locks in PostgreSQL's two-key advisory lock space (which does not
# overlap the one-key space the outbox relay and migrations use).
IDENTITY_LOCKS = 7411
LOCK_IDENTITIES = text(
    "SELECT pg_advisory_xact_lock(:space, lock_key) FROM ("
    " SELECT DISTINCT hashtext(kind || ':' || value) AS lock_key"
    " FROM unnest(:kinds, :values) AS claimed(kind, value)"
    ") keys ORDER BY lock_key"
).bindparams(bindparam("kinds", type_=ARRAY(Text)), bindparam("values", type_=ARRAY(Text)))


async def identity_owners(
    session: AsyncSession, *, identities: Collection[Identity]
) -> dict[Identity, KnownCustomer]:
    given = unnest_rows(
        "given", kind=[str(i.kind) for i in identities], value=[i.value for i in identities]
    )
    query = (
        select(
            CustomerIdentityRow.kind,
            CustomerIdentityRow.value,
            CustomerRow.customer_id,
            CustomerRow.created_at,
            CustomerRow.created_by_client,
        )
        .join(CustomerRow, CustomerRow.customer_id == CustomerIdentityRow.customer_id)
        .join(
            given,
            and_(
                given.c.kind == CustomerIdentityRow.kind,
                given.c.value == CustomerIdentityRow.value,
            ),
        )
    )
    return {
        Identity(IdentityKind(kind), value): KnownCustomer(customer_id, created_at, created_by)
        for kind, value, customer_id, created_at, created_by in await session.execute(query)
    }


async def lock_identities(session: AsyncSession, *, identities: Collection[Identity]) -> None:
    """Hold the identities until commit: a concurrent group claiming any of them waits, then
    sees what this one stored. Hash collisions only make unrelated groups wait."""
    ordered = sorted(identities)
    await session.execute(
        LOCK_IDENTITIES,
        {
            "space": IDENTITY_LOCKS,
            "kinds": [str(i.kind) for i in ordered],
            "values": [i.value for i in ordered],
        },
    )


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
    session: AsyncSession,
    *,
    customers: Sequence[CustomerRef],
    creators: Mapping[str, str],
    now: datetime,
) -> dict[str, CustomerRef]:
    """Create the customers not stored yet (in key order), each with the client that created
    it; those stored meanwhile are left alone and not returned."""
    rows = [
        {
            **customer.model_dump(mode="json"),
            "created_by_client": creators.get(customer.customer_id),
            "created_at": now,
            "updated_at": now,
        }
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
    session: AsyncSession, *, changes: Sequence[CustomerChange], now: datetime
) -> dict[str, CustomerRef]:
    """Apply the changes to stored customers (stated fields replace, offered ones fill what is
    empty), returning those that changed.

    Rows that already say the same are neither locked nor returned: INSERT ... ON CONFLICT DO
    UPDATE would lock them even when its WHERE skips the update, and a burst of identical
    reports would then queue on one row.
    """
    given = unnest_rows(
        "given",
        customer_id=[c.customer_id for c in changes],
        **{
            f"stated_{f}": [as_text(getattr(c.stated, f)) for c in changes] for f in CUSTOMER_FIELDS
        },
        **{
            f"offered_{f}": [as_text(getattr(c.offered, f)) for c in changes]
            for f in CUSTOMER_FIELDS
        },
    )
    stored = {name: getattr(CustomerRow, name) for name in CUSTOMER_FIELDS}
    after = {
        f: func.coalesce(given.c[f"stated_{f}"], stored[f], given.c[f"offered_{f}"])
        for f in CUSTOMER_FIELDS
    }
    differs = or_(*(after[f].is_distinct_from(stored[f]) for f in CUSTOMER_FIELDS))
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
        .values({**after, "updated_at": now})
        .returning(CustomerRow)
        .execution_options(synchronize_session=False)
    )
    return {row.customer_id: to_customer(row) for row in await session.scalars(statement)}


async def link_identities(
    session: AsyncSession, *, links: Mapping[Identity, str], now: datetime
) -> None:
    """Give each identity to its customer; one owned meanwhile stays with its owner (under the
    identities' locks that does not happen)."""
    rows = [
        {"kind": str(i.kind), "value": i.value, "customer_id": links[i], "created_at": now}
        for i in sorted(links)
    ]
    await session.execute(insert(CustomerIdentityRow).on_conflict_do_nothing(), rows)


async def record_duplicates(
    session: AsyncSession, *, duplicates: Collection[Duplicate], now: datetime
) -> None:
    rows = [
        {
            "customer_id": d.customer_id,
            "other_customer_id": d.other_customer_id,
            "kind": str(d.identity.kind),
            "value": d.identity.value,
            "recorded_at": now,
        }
        for d in sorted(duplicates, key=lambda d: (d.customer_id, d.other_customer_id, d.identity))
    ]
    await session.execute(insert(CustomerDuplicateRow).on_conflict_do_nothing(), rows)
