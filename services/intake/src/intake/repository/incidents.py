"""The SQL of stored incidents: reading one (locked for a change, or not), what saving a change
writes (`timeline.record_change` runs it), and listing them newest first, a page at a time."""

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from incident_events.incidents import CustomerRef
from incident_events.types import (
    Channel,
    CustomerTier,
    IncidentKind,
    IncidentStatus,
    Severity,
)
from incident_kit import driver
from sqlalchemy import Row, Select, Table, bindparam, select, text, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from intake.domain import CUSTOMER_FIELDS, Assignee, Incident, known_customer
from intake.repository.rows import name_of
from intake.tables import CustomerRow, IncidentRow


def to_customer(row: CustomerRow | Row[Any] | driver.Row, *, prefix: str = "") -> CustomerRef:
    """A customer from its ORM row, or from a row of its columns (customer_id, CUSTOMER_FIELDS),
    read through the session or on the driver; `prefix`: the fields' prefix in a row joined to
    an incident (which has a `language` of its own), whose customer_id is the join's."""
    fields = {name: getattr(row, prefix + name) for name in CUSTOMER_FIELDS}
    return known_customer(
        customer_id=row.customer_id, **fields | {"tier": CustomerTier(fields["tier"])}
    )


def to_incident(row: IncidentRow | driver.Row, customer: CustomerRef) -> Incident:
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
        kind=IncidentKind(row.kind),
        channel=Channel(row.channel),
        customer=customer,
        language=row.language,
        required_skills=tuple(row.required_skills),
        dedup_key=row.dedup_key,
        assignee=assignee,
        client_id=row.client_id,
        created_at=row.created_at,
        updated_at=row.updated_at,
        status_changed_at=row.status_changed_at,
        resolution=row.resolution,
        resolved_at=row.resolved_at,
        closed_at=row.closed_at,
        first_agent_reply_at=row.first_agent_reply_at,
        assigned_at=row.assigned_at,
        logged_by=row.logged_by,
    )


def with_customer() -> Select[IncidentRow, CustomerRow]:
    return select(IncidentRow, CustomerRow).join(
        CustomerRow, CustomerRow.customer_id == IncidentRow.customer_id
    )


def _incident_of(row: Row[IncidentRow, CustomerRow] | None) -> Incident | None:
    return to_incident(row[0], to_customer(row[1])) if row else None


async def get_incident(session: AsyncSession, *, incident_id: str) -> Incident | None:
    query = with_customer().where(IncidentRow.incident_id == incident_id)
    return _incident_of((await session.execute(query)).first())


# A change to an incident (an assignment from the router, an agent's reply) locks and saves it on
# the driver (`incident_kit.driver`): every incident takes that path. Customer columns carry a
# prefix, as incidents have a `language` of their own.
_INCIDENTS = cast(Table, IncidentRow.__table__)
_CUSTOMERS = cast(Table, CustomerRow.__table__)
_CUSTOMER_PREFIX = "customer_"
_LOCK_INCIDENT = (
    select(
        _INCIDENTS,
        *(_CUSTOMERS.c[name].label(_CUSTOMER_PREFIX + name) for name in CUSTOMER_FIELDS),
    )
    .join(_CUSTOMERS, _CUSTOMERS.c.customer_id == _INCIDENTS.c.customer_id)
    .where(_INCIDENTS.c.incident_id == bindparam("the_incident_id"))
    .with_for_update(of=_INCIDENTS)
)


async def lock_incident(session: AsyncSession, *, incident_id: str) -> Incident | None:
    """The incident, locked until commit so concurrent changes to it apply one after another."""
    rows = await driver.fetch(session, _LOCK_INCIDENT, {"the_incident_id": incident_id})
    if not rows:
        return None
    (row,) = rows
    return to_incident(row, to_customer(row, prefix=_CUSTOMER_PREFIX))


# What a change may alter: status, severity, kind, assignee, resolution and times. SQL text, so
# that a change's timeline entries can go in with it (`timeline.record_change`).
SAVED_COLUMNS = (
    "status",
    "severity",
    "kind",
    "assignee_agent_id",
    "assignee_name",
    "assignment_reason",
    "status_changed_at",
    "resolution",
    "resolved_at",
    "closed_at",
    "first_agent_reply_at",
    "assigned_at",
    "updated_at",
)
SAVE_INCIDENT = text(
    f"UPDATE {name_of(IncidentRow)} SET "
    + ", ".join(f"{column} = :{column}" for column in SAVED_COLUMNS)
    + " WHERE incident_id = :the_incident_id"
)


def saved_values(incident: Incident) -> dict[str, Any]:
    """SAVE_INCIDENT's parameters for the incident as changed."""
    assignee = incident.assignee
    return {
        "status": str(incident.status),
        "severity": str(incident.severity),
        "kind": str(incident.kind),
        "assignee_agent_id": assignee.agent_id if assignee else None,
        "assignee_name": assignee.name if assignee else None,
        "assignment_reason": assignee.reason if assignee else None,
        "status_changed_at": incident.status_changed_at,
        "resolution": incident.resolution,
        "resolved_at": incident.resolved_at,
        "closed_at": incident.closed_at,
        "first_agent_reply_at": incident.first_agent_reply_at,
        "assigned_at": incident.assigned_at,
        "updated_at": incident.updated_at,
        "the_incident_id": incident.incident_id,
    }


@dataclass(frozen=True)
class IncidentFilter:
    """Which incidents a listing shows; an empty collection or None does not filter."""

    statuses: Collection[IncidentStatus] = ()
    severities: Collection[Severity] = ()
    customer_id: str | None = None
    assignee_id: str | None = None


async def list_incidents(
    session: AsyncSession,
    *,
    where: IncidentFilter,
    before: tuple[datetime, str] | None,
    limit: int,
) -> list[Incident]:
    """Up to `limit` incidents, newest first (ties by id), those after the position `before`
    (the created_at and id of the last one of the previous page)."""
    query = with_customer()
    if where.statuses:
        query = query.where(IncidentRow.status.in_([str(s) for s in where.statuses]))
    if where.severities:
        query = query.where(IncidentRow.severity.in_([str(s) for s in where.severities]))
    if where.customer_id is not None:
        query = query.where(IncidentRow.customer_id == where.customer_id)
    if where.assignee_id is not None:
        query = query.where(IncidentRow.assignee_agent_id == where.assignee_id)
    if before is not None:
        query = query.where(tuple_(IncidentRow.created_at, IncidentRow.incident_id) < before)
    query = query.order_by(IncidentRow.created_at.desc(), IncidentRow.incident_id.desc())
    rows = await session.execute(query.limit(limit))
    return [to_incident(incident, to_customer(customer)) for incident, customer in rows]
