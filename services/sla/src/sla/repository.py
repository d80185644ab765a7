"""All SQL of the sla service. Functions take the session of the caller's transaction and never
commit; rows are turned into domain objects here.

What every incident passes through (record the report and the assignee, read its clocks) runs
on the driver (`incident_kit.driver`), as module-level statements compiled once."""

import json
from collections.abc import Iterable
from datetime import datetime
from typing import Any, cast

from incident_events.types import SlaMetric
from incident_kit import driver
from incident_kit.sql_constant import constant
from sqlalchemy import Table, bindparam, exists, func, select, text, update
from sqlalchemy.dialects.postgresql import Insert, insert
from sqlalchemy.ext.asyncio import AsyncSession

from sla.domain import ClockStatus, Incident, Policy, SlaClock
from sla.tables import ClockRow, IncidentRow, PolicyRow

RUNNING = ClockStatus.RUNNING.value


async def save_policy(session: AsyncSession, *, policy: Policy, now: datetime) -> bool:
    """Create or replace a policy; True when it was created."""
    values = _policy_values(policy) | {"updated_at": now}
    created = await session.execute(
        insert(PolicyRow).values(values).on_conflict_do_nothing().returning(PolicyRow.policy_id)
    )
    if created.first() is not None:
        return True
    await session.execute(
        update(PolicyRow).where(PolicyRow.policy_id == policy.policy_id).values(values)
    )
    return False


async def policy_row(session: AsyncSession, *, policy_id: str) -> PolicyRow | None:
    return await session.get(PolicyRow, policy_id)


async def policy_rows(session: AsyncSession) -> list[PolicyRow]:
    query = select(PolicyRow).order_by(PolicyRow.priority, PolicyRow.policy_id)
    return list((await session.scalars(query)).all())


async def policies(session: AsyncSession) -> list[Policy]:
    return [to_policy(row) for row in await policy_rows(session)]


async def record_incident(session: AsyncSession, *, incident: Incident) -> bool:
    """Store what the report says, keeping an assignee that may have arrived first; and whether
    the incident has clocks already, read by the same statement.

    That read sees what was committed when the statement began, even if it then waited for
    the incident's row: a report of the incident being handled at that moment elsewhere (only
    around a rebalance: an incident's events share a partition) is not seen to have started
    its clocks. Its clock ids are those of the clocks started here, so inserting them fails and
    the message is applied again, and then sees them."""
    facts = {
        "incident_id": incident.incident_id,
        "customer_id": incident.customer_id,
        "tier": incident.tier,
        "severity": incident.severity,
        "kind": incident.kind,
    }
    (row,) = await driver.fetch(session, _RECORD_INCIDENT_HAS_CLOCKS, facts)
    return bool(row[0])


async def record_assignee(session: AsyncSession, *, incident_id: str, agent_id: str) -> None:
    """Held in a batch of the consumer and run with the batch's others (`driver.write`)."""
    parameters = {"incident_id": incident_id, "assignee_agent_id": agent_id}
    await driver.write(session, _RECORD_ASSIGNEE, parameters)


async def incident_row(session: AsyncSession, *, incident_id: str) -> IncidentRow | None:
    return await session.get(IncidentRow, incident_id)


async def clocks_of(
    session: AsyncSession, *, incident_id: str, lock: bool = False
) -> list[SlaClock]:
    """The incident's clocks; `lock` holds them against the timer until the transaction ends."""
    query = _LOCK_CLOCKS_OF if lock else _CLOCKS_OF
    rows = await driver.fetch(session, query, {"incident_id": incident_id})
    return [to_clock(row) for row in rows]


# The statements every incident passes through, built once with bound parameters, so each is
# compiled once rather than rebuilt and keyed for the cache at every call.
def _upsert_incident(*columns: str) -> Insert:
    statement = insert(IncidentRow).values({c: bindparam(c) for c in ("incident_id", *columns)})
    excluded = statement.excluded
    return statement.on_conflict_do_update(
        index_elements=[IncidentRow.incident_id], set_={c: excluded[c] for c in columns}
    )


_RECORD_INCIDENT = _upsert_incident("customer_id", "tier", "severity", "kind")
_RECORD_ASSIGNEE = _upsert_incident("assignee_agent_id")
_CLOCKS = cast(Table, ClockRow.__table__)
_CLOCKS_OF = (
    select(_CLOCKS)
    .where(_CLOCKS.c.incident_id == bindparam("incident_id"))
    .order_by(_CLOCKS.c.metric)
)
_LOCK_CLOCKS_OF = _CLOCKS_OF.with_for_update()
_RECORD_INCIDENT_HAS_CLOCKS = select(
    exists().where(_CLOCKS.c.incident_id == bindparam("incident_id"))
).add_cte(_RECORD_INCIDENT.cte("recorded"))


async def insert_clocks(session: AsyncSession, *, clocks: Iterable[SlaClock]) -> None:
    """Held in a batch of the consumer and run with the batch's others (`driver.write`)."""
    rows = [_clock_values(clock) for clock in clocks]
    if not rows:
        return
    columns = {name: [row[name] for row in rows] for name, _ in _CLOCK_COLUMNS}
    for name in _JSON_COLUMNS:
        columns[name] = [json.dumps(values) for values in columns[name]]
    await driver.write(session, _INSERT_CLOCKS, columns)


# A report's clocks in one statement on the driver, arrays unnested (the session's executemany
# cost several times the client CPU). JSON columns travel as text and are cast.
_CLOCK_COLUMNS = (
    ("clock_id", "text"),
    ("incident_id", "text"),
    ("metric", "text"),
    ("policy_id", "text"),
    ("calendar", "text"),
    ("target_seconds", "integer"),
    ("warn_at_percent", "text"),
    ("started_at", "timestamptz"),
    ("due_at", "timestamptz"),
    ("status", "text"),
    ("warned_percents", "text"),
    ("next_fire_at", "timestamptz"),
    ("stopped_at", "timestamptz"),
    ("correlation_id", "text"),
)
_JSON_COLUMNS = ("warn_at_percent", "warned_percents")
_INSERT_CLOCKS = text(
    f"INSERT INTO {cast(Table, ClockRow.__table__).fullname}"
    f" ({', '.join(name for name, _ in _CLOCK_COLUMNS)}) SELECT "
    + ", ".join(
        f"CAST({name} AS jsonb)" if name in _JSON_COLUMNS else name for name, _ in _CLOCK_COLUMNS
    )
    + " FROM unnest("
    + ", ".join(f"CAST(:{name} AS {sql_type}[])" for name, sql_type in _CLOCK_COLUMNS)
    + f") AS given({', '.join(name for name, _ in _CLOCK_COLUMNS)})"
)


async def save_clocks(session: AsyncSession, *, clocks: Iterable[SlaClock]) -> None:
    for clock in clocks:
        values = _clock_values(clock)
        await session.execute(
            update(ClockRow).where(ClockRow.clock_id == clock.clock_id).values(values)
        )


async def database_now(session: AsyncSession) -> datetime:
    """PostgreSQL's time: the one clock every replica's timer agrees on."""
    return (await session.execute(select(func.now()))).scalar_one()


async def due_clocks(session: AsyncSession, *, settled: datetime, limit: int) -> list[SlaClock]:
    """Running clocks whose next warning or due moment is settled (by `settled`, see
    watermark.py), locked for this replica; clocks another replica is firing are skipped."""
    query = (
        select(ClockRow)
        .where(ClockRow.status == constant(RUNNING), ClockRow.next_fire_at <= settled)
        .order_by(ClockRow.next_fire_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return [to_clock(row) for row in (await session.scalars(query)).all()]


async def earliest_next_fire(session: AsyncSession) -> datetime | None:
    query = select(func.min(ClockRow.next_fire_at)).where(ClockRow.status == constant(RUNNING))
    return (await session.execute(query)).scalar_one()


async def count_running(session: AsyncSession) -> int:
    query = select(func.count()).select_from(ClockRow).where(ClockRow.status == constant(RUNNING))
    return int((await session.execute(query)).scalar_one())


def to_policy(row: PolicyRow) -> Policy:
    return Policy(
        policy_id=row.policy_id,
        name=row.name,
        priority=row.priority,
        first_response_seconds=row.first_response_seconds,
        resolution_seconds=row.resolution_seconds,
        match_tiers=tuple(row.match_tiers),
        match_severities=tuple(row.match_severities),
        match_kinds=tuple(row.match_kinds),
        update_interval_seconds=row.update_interval_seconds,
        warn_at_percent=tuple(row.warn_at_percent),
        calendar=row.calendar,
    )


def to_clock(row: ClockRow | driver.Row) -> SlaClock:
    return SlaClock(
        clock_id=row.clock_id,
        incident_id=row.incident_id,
        metric=SlaMetric(row.metric),
        policy_id=row.policy_id,
        calendar=row.calendar,
        target_seconds=row.target_seconds,
        started_at=row.started_at,
        due_at=row.due_at,
        warn_at_percent=tuple(row.warn_at_percent),
        status=ClockStatus(row.status),
        warned_percents=tuple(row.warned_percents),
        next_fire_at=row.next_fire_at,
        stopped_at=row.stopped_at,
        correlation_id=row.correlation_id,
    )


def _policy_values(policy: Policy) -> dict[str, Any]:
    return {
        "policy_id": policy.policy_id,
        "name": policy.name,
        "priority": policy.priority,
        "match_tiers": list(policy.match_tiers),
        "match_severities": list(policy.match_severities),
        "match_kinds": list(policy.match_kinds),
        "first_response_seconds": policy.first_response_seconds,
        "update_interval_seconds": policy.update_interval_seconds,
        "resolution_seconds": policy.resolution_seconds,
        "warn_at_percent": list(policy.warn_at_percent),
        "calendar": policy.calendar,
    }


def _clock_values(clock: SlaClock) -> dict[str, Any]:
    return {
        "clock_id": clock.clock_id,
        "incident_id": clock.incident_id,
        "metric": str(clock.metric),
        "policy_id": clock.policy_id,
        "calendar": clock.calendar,
        "target_seconds": clock.target_seconds,
        "warn_at_percent": list(clock.warn_at_percent),
        "started_at": clock.started_at,
        "due_at": clock.due_at,
        "status": str(clock.status),
        "warned_percents": list(clock.warned_percents),
        "next_fire_at": clock.next_fire_at,
        "stopped_at": clock.stopped_at,
        "correlation_id": clock.correlation_id,
    }
