"""The SQL of customers as reports find and change them: who owns which identity, the locks
under which new identities are claimed, new customers, their changes, links and possible
duplicates. Each statement is SQL text written once, taking its rows as arrays (`rows`).

Rows that already say what the reports say are neither locked nor written; the rest are locked
in key order (identities by advisory lock, customers FOR NO KEY UPDATE under ORDER BY), so
concurrent groups of reports cannot deadlock.
"""

from collections.abc import Collection, Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from incident_events.incidents import CustomerRef
from incident_kit import driver
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from intake.domain import CUSTOMER_FIELDS, CustomerChange, Duplicate, Identity, KnownCustomer
from intake.domain.customers import IdentityKind
from intake.repository.incidents import to_customer
from intake.repository.rows import as_text, name_of, unnest
from intake.tables import CustomerDuplicateRow, CustomerIdentityRow, CustomerRow

CUSTOMERS = name_of(CustomerRow)
IDENTITIES = name_of(CustomerIdentityRow)
DUPLICATES = name_of(CustomerDuplicateRow)
# What a customer row is read as (intake.repository.incidents.to_customer).
CUSTOMER_COLUMN_NAMES = ("customer_id", *CUSTOMER_FIELDS)
CUSTOMER_COLUMNS = ", ".join(CUSTOMER_COLUMN_NAMES)
# The identities a statement is given: parallel arrays of kinds and values.
GIVEN_IDENTITIES = unnest(("kinds", "text"), ("identity_values", "text"))

# The class id of identity locks in PostgreSQL's two-key advisory lock space (which does not
# overlap the one-key space the outbox relay and migrations use).
IDENTITY_LOCKS = 7411
LOCK_IDENTITIES = text(
    "SELECT pg_advisory_xact_lock(:space, lock_key) FROM ("
    " SELECT DISTINCT hashtext(kinds || ':' || identity_values) AS lock_key"
    f" FROM {GIVEN_IDENTITIES}"
    ") keys ORDER BY lock_key"
)
# The owners with their customers' details, which spares reading them again.
IDENTITY_OWNERS = text(
    "SELECT i.kind, i.value, c.customer_id, c.created_at, c.created_by_client, "
    + ", ".join(f"c.{name}" for name in CUSTOMER_FIELDS)
    + f" FROM {GIVEN_IDENTITIES}"
    f" JOIN {IDENTITIES} i ON i.kind = given.kinds AND i.value = given.identity_values"
    f" JOIN {CUSTOMERS} c ON c.customer_id = i.customer_id"
)
GET_CUSTOMERS = text(
    f"SELECT {CUSTOMER_COLUMNS} FROM {CUSTOMERS} WHERE customer_id = ANY(CAST(:ids AS text[]))"
)
NEW_CUSTOMER_COLUMNS = (
    *((name, "text") for name in CUSTOMER_COLUMN_NAMES),
    ("created_by_client", "text"),
)
# Rows go in in the arrays' order (key order: see insert_customers).
INSERT_CUSTOMERS = text(
    f"INSERT INTO {CUSTOMERS}"
    f" ({', '.join(name for name, _ in NEW_CUSTOMER_COLUMNS)}, created_at, updated_at)"
    f" SELECT {', '.join(name for name, _ in NEW_CUSTOMER_COLUMNS)},"
    " CAST(:now AS timestamptz), CAST(:now AS timestamptz)"
    f" FROM {unnest(*NEW_CUSTOMER_COLUMNS)}"
    " ORDER BY position"
    f" ON CONFLICT (customer_id) DO NOTHING RETURNING {CUSTOMER_COLUMNS}"
)
# Stated fields replace what is stored, offered ones fill what is empty.
_AFTER = {f: f"coalesce(given.stated_{f}, c.{f}, given.offered_{f})" for f in CUSTOMER_FIELDS}
_CHANGE_COLUMNS = (
    ("customer_id", "text"),
    *((f"stated_{f}", "text") for f in CUSTOMER_FIELDS),
    *((f"offered_{f}", "text") for f in CUSTOMER_FIELDS),
)
UPDATE_CUSTOMERS = text(
    f"WITH given AS (SELECT * FROM {unnest(*_CHANGE_COLUMNS)}),"
    f" locked AS (SELECT c.customer_id FROM {CUSTOMERS} c"
    " JOIN given ON given.customer_id = c.customer_id"
    f" WHERE {' OR '.join(f'{after} IS DISTINCT FROM c.{f}' for f, after in _AFTER.items())}"
    " ORDER BY c.customer_id FOR NO KEY UPDATE OF c)"
    f" UPDATE {CUSTOMERS} c SET {', '.join(f'{f} = {after}' for f, after in _AFTER.items())},"
    " updated_at = CAST(:now AS timestamptz) FROM given"
    " WHERE c.customer_id = given.customer_id"
    " AND c.customer_id IN (SELECT customer_id FROM locked)"
    f" RETURNING {', '.join(f'c.{name}' for name in CUSTOMER_COLUMN_NAMES)}"
)
LINK_IDENTITIES = text(
    f"INSERT INTO {IDENTITIES} (kind, value, customer_id, created_at)"
    " SELECT kind, value, link_customer_id, CAST(:now AS timestamptz)"
    f" FROM {unnest(('kind', 'text'), ('value', 'text'), ('link_customer_id', 'text'))}"
    " ORDER BY position ON CONFLICT DO NOTHING"
)
# New customers and the identities given to customers, in one round trip. The foreign key of a
# link to a customer inserted by the same statement is checked at its end, when both are there.
INSERT_CUSTOMERS_AND_LINK = text(f"WITH linked AS ({LINK_IDENTITIES.text}) {INSERT_CUSTOMERS.text}")
RECORD_DUPLICATES = text(
    f"INSERT INTO {DUPLICATES} (customer_id, other_customer_id, kind, value, recorded_at)"
    " SELECT customer_id, other_customer_id, kind, value, CAST(:now AS timestamptz) FROM "
    + unnest(
        ("customer_id", "text"), ("other_customer_id", "text"), ("kind", "text"), ("value", "text")
    )
    + " ORDER BY position ON CONFLICT DO NOTHING"
)


async def identity_owners(
    session: AsyncSession, *, identities: Collection[Identity]
) -> tuple[dict[Identity, KnownCustomer], dict[str, CustomerRef]]:
    """The customer owning each identity that has one, and those customers as stored."""
    rows = await driver.fetch(
        session,
        IDENTITY_OWNERS,
        {
            "kinds": [str(i.kind) for i in identities],
            "identity_values": [i.value for i in identities],
        },
    )
    owners = {
        Identity(IdentityKind(row.kind), row.value): KnownCustomer(
            row.customer_id, row.created_at, row.created_by_client
        )
        for row in rows
    }
    return owners, _by_id(rows)


async def lock_identities(session: AsyncSession, *, identities: Collection[Identity]) -> None:
    """Hold the identities until commit: a concurrent group claiming any of them waits, then
    sees what this one stored. Hash collisions only make unrelated groups wait."""
    ordered = sorted(identities)
    await driver.fetch(
        session,
        LOCK_IDENTITIES,
        {
            "space": IDENTITY_LOCKS,
            "kinds": [str(i.kind) for i in ordered],
            "identity_values": [i.value for i in ordered],
        },
    )


async def get_customers(
    session: AsyncSession, *, customer_ids: Collection[str]
) -> dict[str, CustomerRef]:
    return _by_id(await driver.fetch(session, GET_CUSTOMERS, {"ids": list(customer_ids)}))


async def insert_customers(
    session: AsyncSession,
    *,
    customers: Sequence[CustomerRef],
    creators: Mapping[str, str],
    now: datetime,
    links: Mapping[Identity, str],
) -> dict[str, CustomerRef]:
    """Create the customers not stored yet (in key order), each with the client that created
    it, and give each identity of `links` to its customer (as `link_identities`), in one
    statement; the customers stored meanwhile are left alone and not returned."""
    ordered = sorted(customers, key=lambda customer: customer.customer_id)
    params: dict[str, Any] = {
        name: [as_text(getattr(c, name)) for c in ordered] for name in CUSTOMER_COLUMN_NAMES
    }
    params["created_by_client"] = [creators.get(c.customer_id) for c in ordered]
    params |= _links(links, now)
    return _by_id(await driver.fetch(session, INSERT_CUSTOMERS_AND_LINK, params))


async def update_customers(
    session: AsyncSession, *, changes: Sequence[CustomerChange], now: datetime
) -> dict[str, CustomerRef]:
    """Apply the changes to stored customers (stated fields replace, offered ones fill what is
    empty), returning those that changed.

    Rows that already say the same are neither locked nor returned: INSERT ... ON CONFLICT DO
    UPDATE would lock them even when its WHERE skips the update, and a burst of identical
    reports would then queue on one row.
    """
    params: dict[str, Any] = {"customer_id": [c.customer_id for c in changes], "now": now}
    for f in CUSTOMER_FIELDS:
        params[f"stated_{f}"] = [as_text(getattr(c.stated, f)) for c in changes]
        params[f"offered_{f}"] = [as_text(getattr(c.offered, f)) for c in changes]
    return _by_id(await driver.fetch(session, UPDATE_CUSTOMERS, params))


def _by_id(rows: Iterable[driver.Row]) -> dict[str, CustomerRef]:
    return {row.customer_id: to_customer(row) for row in rows}


async def link_identities(
    session: AsyncSession, *, links: Mapping[Identity, str], now: datetime
) -> None:
    """Give each identity to its customer; one owned meanwhile stays with its owner (under the
    identities' locks that does not happen)."""
    await driver.fetch(session, LINK_IDENTITIES, _links(links, now))


def _links(links: Mapping[Identity, str], now: datetime) -> dict[str, Any]:
    ordered = sorted(links)
    return {
        "kind": [str(i.kind) for i in ordered],
        "value": [i.value for i in ordered],
        "link_customer_id": [links[i] for i in ordered],
        "now": now,
    }


async def record_duplicates(
    session: AsyncSession, *, duplicates: Collection[Duplicate], now: datetime
) -> None:
    ordered = sorted(duplicates, key=lambda d: (d.customer_id, d.other_customer_id, d.identity))
    await driver.fetch(
        session,
        RECORD_DUPLICATES,
        {
            "customer_id": [d.customer_id for d in ordered],
            "other_customer_id": [d.other_customer_id for d in ordered],
            "kind": [str(d.identity.kind) for d in ordered],
            "value": [d.identity.value for d in ordered],
            "now": now,
        },
    )
