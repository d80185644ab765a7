"""The SQL of reporting: new incidents (with their events) and idempotency keys, both scoped to
the client that reported (its dedup_keys and Idempotency-Keys are its own). Customers are in
`customers`.

Duplicates are settled by unique constraints (INSERT ... ON CONFLICT), never by looking first,
so concurrent identical requests cannot both create an incident. Multi-row statements take
their row locks in key order, so concurrent groups of reports cannot deadlock. The statements
of a group's transaction are SQL text written once, taking their rows as arrays (`rows`).
"""

import json
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from incident_events import Event
from incident_kit import driver
from incident_kit.outbox import EVENT_COLUMNS, event_columns, insert_events_sql, wrote_outbox
from sqlalchemy import select, text, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from intake.domain import Incident
from intake.repository.incidents import to_customer, to_incident, with_customer
from intake.repository.rows import name_of, unnest
from intake.tables import (
    OPEN_INCIDENT,
    CustomerRow,
    IdempotencyKeyRow,
    IncidentRow,
    outbox,
    reference_numbers,
)

# A key as its client sent it: (client_id, key).
ClientKey = tuple[str, str]

INCIDENTS = name_of(IncidentRow)
KEYS = name_of(IdempotencyKeyRow)

NEXT_REFERENCE_NUMBERS = text(
    f"SELECT nextval('{reference_numbers.schema}.{reference_numbers.name}')"
    " FROM generate_series(1, :count)"
)
NEW_INCIDENT_COLUMNS = (
    *(
        (name, "text")
        for name in (
            "incident_id",
            "reference",
            "title",
            "description",
            "severity",
            "kind",
            "channel",
            "status",
            "customer_id",
            "language",
            "required_skills",
            "dedup_key",
            "client_id",
            "logged_by",
        )
    ),
    ("created_at", "timestamptz"),
    ("updated_at", "timestamptz"),
)
_INCIDENT_NAMES = [name for name, _ in NEW_INCIDENT_COLUMNS]
# The Idempotency-Key a new incident's request claimed, if any: (client_id, key) as two columns.
_KEY_COLUMNS = (("key_client", "text"), ("key_name", "text"))
# One statement stores a group's new incidents, their events and their keys' binding: the
# events and keys of those inserted only (one whose dedup_key an open incident holds is not).
# The ON CONFLICT target with OPEN_INCIDENT's predicate infers the open dedup_key index.
INSERT_INCIDENTS = text(
    "WITH report AS (SELECT * FROM "
    f"{unnest(*NEW_INCIDENT_COLUMNS, *EVENT_COLUMNS, *_KEY_COLUMNS)}),"
    f" inserted AS (INSERT INTO {INCIDENTS} ({', '.join(_INCIDENT_NAMES)}) SELECT "
    + ", ".join(
        "CAST(required_skills AS jsonb)" if name == "required_skills" else name
        for name in _INCIDENT_NAMES
    )
    + " FROM report ORDER BY position"
    f" ON CONFLICT (client_id, dedup_key) WHERE {OPEN_INCIDENT.text} DO NOTHING"
    " RETURNING incident_id),"
    # Outbox ids follow the reports' order.
    " reported AS ("
    + insert_events_sql(outbox, rows="report r JOIN inserted USING (incident_id)", alias="r")
    + "),"
    f" bound AS (UPDATE {KEYS} k SET incident_id = r.incident_id"
    " FROM report r JOIN inserted USING (incident_id)"
    " WHERE k.client_id = r.key_client AND k.key = r.key_name)"
    " SELECT incident_id FROM inserted"
)
CLAIM_KEYS = text(
    f"INSERT INTO {KEYS} (client_id, key, request_hash, created_at)"
    " SELECT client_id, key, request_hash, created_at FROM "
    + unnest(
        ("client_id", "text"),
        ("key", "text"),
        ("request_hash", "text"),
        ("created_at", "timestamptz"),
    )
    + " ORDER BY position ON CONFLICT (client_id, key) DO NOTHING RETURNING client_id, key"
)
BIND_KEYS = text(
    f"UPDATE {KEYS} k SET incident_id = given.incident_id"
    f" FROM {unnest(('client_id', 'text'), ('key', 'text'), ('incident_id', 'text'))}"
    " WHERE k.client_id = given.client_id AND k.key = given.key"
)

# --- incidents ----------------------------------------------------------------------------


async def next_reference_numbers(session: AsyncSession, *, count: int) -> list[int]:
    """`count` numbers from the reference sequence, ascending, in one statement."""
    rows = await driver.fetch(session, NEXT_REFERENCE_NUMBERS, {"count": count})
    return sorted(int(number) for (number,) in rows)


@dataclass(frozen=True)
class NewIncident:
    """An incident to store, the event that reports it, and the Idempotency-Key its request
    claimed (to point at it)."""

    incident: Incident
    reported: Event[Any]
    key: ClientKey | None


async def insert_incidents(session: AsyncSession, *, new: Sequence[NewIncident]) -> set[str]:
    """Store new incidents (in client and dedup_key order), each with its event in the outbox
    and its key bound to it; returns the ids stored. One whose dedup_key an open incident of
    its client holds is skipped, after waiting for a concurrent insert of the key to commit:
    its event is not recorded, its key not bound."""
    ordered = sorted(new, key=lambda n: (n.incident.client_id, n.incident.dedup_key or ""))
    params: dict[str, list[Any]] = {name: [] for name, _ in NEW_INCIDENT_COLUMNS}
    for each in ordered:
        for name, value in _incident_values(each.incident).items():
            params[name].append(value)
    params |= event_columns(n.reported for n in ordered)
    params["key_client"] = [n.key[0] if n.key else None for n in ordered]
    params["key_name"] = [n.key[1] if n.key else None for n in ordered]
    rows = await driver.fetch(session, INSERT_INCIDENTS, params)
    if rows:
        wrote_outbox(session)
    return {incident_id for (incident_id,) in rows}


def _incident_values(incident: Incident) -> dict[str, Any]:
    return {
        "incident_id": incident.incident_id,
        "reference": incident.reference,
        "title": incident.title,
        "description": incident.description,
        "severity": str(incident.severity),
        "kind": str(incident.kind),
        "channel": str(incident.channel),
        "status": str(incident.status),
        "customer_id": incident.customer.customer_id,
        "language": incident.language,
        "required_skills": json.dumps(list(incident.required_skills)),
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
        (row[0].client_id, row[0].dedup_key or ""): to_incident(row[0], to_customer(row[1]))
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
    ordered = sorted(claims, key=lambda c: (c.client_id, c.key))
    params = {
        "client_id": [c.client_id for c in ordered],
        "key": [c.key for c in ordered],
        "request_hash": [c.request_hash for c in ordered],
        "created_at": [c.created_at for c in ordered],
    }
    return {(client_id, key) for client_id, key in await driver.fetch(session, CLAIM_KEYS, params)}


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
        (client_id, key): (
            request_hash,
            to_incident(incident, to_customer(customer)) if incident else None,
        )
        for client_id, key, request_hash, incident, customer in await session.execute(query)
    }


async def bind_idempotency_keys(
    session: AsyncSession, *, incident_ids: Mapping[ClientKey, str]
) -> None:
    """Point each claimed key at the incident its request got."""
    keys = sorted(incident_ids)
    await driver.fetch(
        session,
        BIND_KEYS,
        {
            "client_id": [client_id for client_id, _ in keys],
            "key": [key for _, key in keys],
            "incident_id": [incident_ids[key] for key in keys],
        },
    )
