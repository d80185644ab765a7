"""All SQL of the router. Keyword-only functions on a caller's session; nothing here commits.

The statements of placing a reported incident (who is eligible, lock the chosen agent, save
the assignment unless the incident was routed before, count the load) run on the driver
(`incident_kit.driver`): they are every incident's path. They are module-level constants,
compiled once.
"""

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any, cast

from incident_events.types import Severity
from incident_kit import driver
from incident_kit.sql_constant import constant
from sqlalchemy import (
    Boolean,
    DateTime,
    Integer,
    Numeric,
    Select,
    Table,
    Text,
    and_,
    any_,
    bindparam,
    case,
    delete,
    exists,
    false,
    func,
    literal_column,
    select,
    text,
    true,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY, insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.dml import ReturningInsert
from sqlalchemy.sql.elements import BindParameter, ColumnElement

from router import domain
from router.domain import ONLINE, Agent, Candidates, Incident
from router.tables import AgentRow, AssignmentRow

# The queue's order, as ix_assignments_queue holds it: the head is read from the index, not
# sorted out of every queued row.
_QUEUE_ORDER = (AssignmentRow.severity_rank, AssignmentRow.queued_at, AssignmentRow.incident_id)


def to_agent(row: AgentRow) -> Agent:
    return Agent(
        agent_id=row.agent_id,
        name=row.name,
        skills=dict(row.skills),
        languages=frozenset(row.languages),
        tier=row.tier,
        capacity=row.capacity,
        presence=row.presence,
        active_count=row.active_count,
    )


def to_incident(row: AssignmentRow) -> Incident:
    return Incident(
        incident_id=row.incident_id,
        severity=Severity(row.severity),
        language=row.language,
        required_skills=tuple(row.required_skills),
        queued_at=row.queued_at,
    )


# --- agents -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Eligible:
    """The agent the database ranks first for an incident (none: no agent is eligible), and the
    version of its row as read (PostgreSQL's xmin: any change to the row makes a new one)."""

    agents: list[Agent]
    versions: dict[str, int]


def _requirements(incident: Incident, min_tier: int) -> dict[str, Any]:
    """The parameters of the agent queries below: what the incident asks of an agent."""
    return {
        "min_tier": min_tier,
        "language": [incident.language],
        "skills": list(incident.required_skills),
    }


def _speaks_with_skills(agents: Table, skills: BindParameter[Any]) -> ColumnElement[bool]:
    """An agent speaks the incident's language and has all its skills (no skills: `@> '{}'`)."""
    return and_(
        agents.c.languages.contains(bindparam("language", type_=agents.c.languages.type)),
        agents.c.skills.has_all(skills),
    )


async def best_eligible(session: AsyncSession, *, incident: Incident, min_tier: int) -> Eligible:
    """The online agent with room, tier, language and skills for the incident that the domain
    prefers (`domain.choose_agent`: the least loaded, then the most skilled, then the lowest
    id), ranked by the database, so a decision among many idle agents, all tied at no load,
    returns one row rather than all of them. The domain checks it again."""
    rows = await driver.fetch(session, _BEST_ELIGIBLE, _requirements(incident, min_tier))
    return Eligible([to_agent(row) for row in rows], {row.agent_id: row.version for row in rows})


def _best_eligible() -> Select[Any]:
    """Built once, with bound parameters, so it is compiled once."""
    agents = cast(Table, AgentRow.__table__)
    skills = bindparam("skills", type_=ARRAY(Text))
    # The domain's preference, spelled in SQL: the load as an exact quotient (numeric: 1/3 and
    # 2/6 tie, as Fractions do), the sum of the required skills' levels (each required skill
    # counted as often as it is listed, as the domain sums them), and the id in code-point
    # order, as Python compares strings ("C" collation: UTF-8's byte order is code-point order).
    load = agents.c.active_count.cast(Numeric) / func.nullif(agents.c.capacity, 0)
    required = func.unnest(skills).table_valued("skill").render_derived()
    skill_total = (
        select(
            func.coalesce(func.sum(agents.c.skills.op("->>")(required.c.skill).cast(Integer)), 0)
        )
        .select_from(required)
        .scalar_subquery()
    )
    return (
        select(agents, literal_column(f"{agents.fullname}.xmin").label("version"))
        .where(
            # A constant, not a parameter: the indexes of online agents are partial (sql_constant).
            agents.c.presence == constant(ONLINE),
            agents.c.active_count < agents.c.capacity,
            agents.c.tier >= bindparam("min_tier"),
            _speaks_with_skills(agents, skills),
        )
        .order_by(load, skill_total.desc(), agents.c.agent_id.collate("C"))
        .limit(1)
    )


_BEST_ELIGIBLE = _best_eligible()


async def count_candidates(
    session: AsyncSession, *, incident: Incident, min_tier: int
) -> Candidates:
    """`domain.count_candidates` over the online agents, counted by the database: one row."""
    (row,) = await driver.fetch(session, _COUNT_CANDIDATES, _requirements(incident, min_tier))
    return Candidates(row.online, row.matching, row.senior)


def _count_candidates() -> Select[int, int, int]:
    agents = cast(Table, AgentRow.__table__)
    matching = _speaks_with_skills(agents, bindparam("skills", type_=ARRAY(Text)))
    senior = and_(matching, agents.c.tier >= bindparam("min_tier"))
    return select(
        func.count().label("online"),
        func.count().filter(matching).label("matching"),
        func.count().filter(senior).label("senior"),
    ).where(agents.c.presence == constant(ONLINE))


_COUNT_CANDIDATES = _count_candidates()


_AGENTS = cast(Table, AgentRow.__table__)
_LOCK_AGENT = (
    select(_AGENTS).where(_AGENTS.c.agent_id == bindparam("the_agent_id")).with_for_update()
)


async def lock_agent(session: AsyncSession, *, agent_id: str) -> Agent | None:
    """The agent's current row, locked until commit so no other replica changes its load."""
    rows = await driver.fetch(session, _LOCK_AGENT, {"the_agent_id": agent_id})
    return to_agent(rows[0]) if rows else None


async def get_agent(session: AsyncSession, *, agent_id: str) -> AgentRow | None:
    return await session.get(AgentRow, agent_id)


async def list_agents(session: AsyncSession, *, limit: int, offset: int) -> list[AgentRow]:
    query = select(AgentRow).order_by(AgentRow.agent_id).limit(limit).offset(offset)
    return list(await session.scalars(query))


async def upsert_agent(
    session: AsyncSession, *, agent_id: str, profile: Mapping[str, Any], now: datetime
) -> tuple[AgentRow, bool]:
    """Create or replace the agent's profile (its load is kept); True if it was created."""
    values = {**profile, "updated_at": now}
    upsert = (
        insert(AgentRow)
        .values(agent_id=agent_id, **values)
        .on_conflict_do_update(index_elements=[AgentRow.agent_id], set_=values)
    )
    # xmax is 0 only on a freshly inserted row version: tells insert from update.
    created_flag = literal_column("xmax = 0", Boolean).label("created")
    result = await session.execute(
        upsert.returning(AgentRow, created_flag).execution_options(populate_existing=True)
    )
    row, created = result.one()
    return row, bool(created)


async def delete_agent(session: AsyncSession, *, agent_id: str) -> bool:
    result = await session.execute(
        delete(AgentRow).where(AgentRow.agent_id == agent_id).returning(AgentRow.agent_id)
    )
    return result.first() is not None


_CHANGE_LOAD = (
    update(_AGENTS)
    .where(_AGENTS.c.agent_id == bindparam("the_agent_id"))
    .values(
        active_count=func.greatest(_AGENTS.c.active_count + bindparam("delta", type_=Integer), 0),
        updated_at=bindparam("now", type_=DateTime(timezone=True)),
    )
)


async def change_load(session: AsyncSession, *, agent_id: str, delta: int, now: datetime) -> None:
    """Through the driver: an ORM object of the agent this session holds is not refreshed (the
    API refreshes the one it answers with)."""
    parameters = {"the_agent_id": agent_id, "delta": delta, "now": now}
    await driver.fetch(session, _CHANGE_LOAD, parameters)


# --- assignments and the queue ---------------------------------------------------------------


_ASSIGNMENTS = cast(Table, AssignmentRow.__table__)


async def lock_assignment(session: AsyncSession, *, incident_id: str) -> AssignmentRow | None:
    """The incident's routing row, locked until commit."""
    query = (
        select(AssignmentRow)
        .where(AssignmentRow.incident_id == incident_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return await session.scalar(query)


async def save_assigned(
    session: AsyncSession,
    *,
    incident: Incident,
    agent_id: str,
    reason: str,
    now: datetime,
    only_new: bool = False,
) -> bool:
    """The incident's row assigned to the agent, and the agent's load one more, in one
    statement (one round trip fewer on the way from a report to its assignment). `only_new`:
    only if the router has no row of the incident (else neither changes): whether it did."""
    values = _row(incident, status="assigned", agent_id=agent_id, reason=reason, assigned_at=now)
    load = {"the_agent_id": agent_id, "delta": 1, "now": now}
    return bool(await driver.fetch(session, _ASSIGN_NEW if only_new else _ASSIGN, values | load))


async def save_queued(
    session: AsyncSession, *, incident: Incident, reason: str, now: datetime, only_new: bool = False
) -> bool:
    """The incident's row queued; `only_new`: only if the router has none (whether it did)."""
    routing = {"status": "queued", "agent_id": None, "reason": reason, "queued_at": now}
    return await _save(session, incident, only_new=only_new, **routing)


async def _save(
    session: AsyncSession, incident: Incident, *, only_new: bool = False, **routing: Any
) -> bool:
    """Insert the incident's row, or overwrite its routing state (queue -> agent, requeue);
    `only_new`: insert only, leaving a row the router has (whether it inserted)."""
    statement = _save_statement(tuple(routing), only_new=only_new)
    return bool(await driver.fetch(session, statement, _row(incident, **routing)))


def _row(incident: Incident, **routing: Any) -> dict[str, Any]:
    return {
        "incident_id": incident.incident_id,
        "severity": str(incident.severity),
        "language": incident.language,
        "required_skills": list(incident.required_skills),
        **routing,
    }


@cache  # one statement per set of routing columns (assigned, queued) and kind, built once
def _save_statement(routing: tuple[str, ...], *, only_new: bool = False) -> ReturningInsert[Any]:
    columns = ("incident_id", "severity", "language", "required_skills", *routing)
    statement = insert(_ASSIGNMENTS).values(
        {name: bindparam(name, type_=_ASSIGNMENTS.c[name].type) for name in columns}
    )
    saved = (
        statement.on_conflict_do_nothing(index_elements=[_ASSIGNMENTS.c.incident_id])
        if only_new
        else statement.on_conflict_do_update(
            index_elements=[_ASSIGNMENTS.c.incident_id],
            set_={name: statement.excluded[name] for name in routing},
        )
    )
    return saved.returning(_ASSIGNMENTS.c.incident_id)


_ASSIGNED = ("status", "agent_id", "reason", "assigned_at")
# _save's upsert of an assigned row as a CTE of _CHANGE_LOAD: a data-modifying CTE runs to
# completion whether or not the statement reads it.
_ASSIGN = _CHANGE_LOAD.add_cte(_save_statement(_ASSIGNED).cte("saved")).returning(
    _AGENTS.c.agent_id
)
# The same for a reported incident: the row inserted only if the router has none, and the load
# changed only if it was.
_SAVED_NEW = _save_statement(_ASSIGNED, only_new=True).cte("saved")
_ASSIGN_NEW = _CHANGE_LOAD.where(exists(select(_SAVED_NEW.c.incident_id))).returning(
    _AGENTS.c.agent_id
)


# A reported incident assigned to an agent chosen from a snapshot, in one round trip instead of
# locking the agent first: only if the agent's row is still the version chosen from, which it
# locks; then the row is inserted unless the router has one, and the load counted only if it
# was. Whether the agent was unchanged, and whether the row was inserted.
_ASSIGN_NEW_IF_UNCHANGED = text(
    f"WITH unchanged AS (SELECT agent_id FROM {_AGENTS.fullname}"
    " WHERE agent_id = :the_agent_id AND xmin = CAST(:seen_version AS xid) FOR UPDATE),"
    f" saved AS (INSERT INTO {_ASSIGNMENTS.fullname}"
    " (incident_id, severity, language, required_skills, status, agent_id, reason, assigned_at)"
    " SELECT CAST(:incident_id AS text), CAST(:severity AS text), CAST(:language AS text),"
    " CAST(:required_skills AS jsonb), 'assigned',"
    " agent_id, CAST(:reason AS text), CAST(:now AS timestamptz) FROM unchanged"
    " ON CONFLICT (incident_id) DO NOTHING RETURNING incident_id),"
    f" counted AS (UPDATE {_AGENTS.fullname} SET active_count = active_count + 1,"
    " updated_at = CAST(:now AS timestamptz) WHERE agent_id IN (SELECT agent_id FROM unchanged)"
    " AND EXISTS (SELECT FROM saved))"
    " SELECT EXISTS (SELECT FROM unchanged) AS unchanged, EXISTS (SELECT FROM saved) AS saved"
)


async def assign_new_if_unchanged(
    session: AsyncSession,
    *,
    incident: Incident,
    agent_id: str,
    version: int,
    reason: str,
    now: datetime,
) -> bool | None:
    """As `save_assigned` with `only_new`, if the agent's row is still at `version`: whether
    the router had no row of the incident (and now has); None, changing nothing, if the
    agent's row has changed since."""
    parameters = {
        "the_agent_id": agent_id,
        "seen_version": version,
        "incident_id": incident.incident_id,
        "severity": str(incident.severity),
        "language": incident.language,
        "required_skills": json.dumps(list(incident.required_skills)),
        "reason": reason,
        "now": now,
    }
    ((unchanged, saved),) = await driver.fetch(session, _ASSIGN_NEW_IF_UNCHANGED, parameters)
    return bool(saved) if unchanged else None


async def mark_released(session: AsyncSession, *, incident_id: str, now: datetime) -> None:
    await session.execute(
        update(AssignmentRow)
        .where(AssignmentRow.incident_id == incident_id)
        .values(status="released", released_at=now)
    )


async def lock_queue_for(session: AsyncSession, *, agent: Agent, limit: int) -> list[Incident]:
    """The most urgent queued incidents the agent qualifies for (`domain.is_eligible`: its
    language, skills it has, a severity its tier may take), at most `limit`, locked; rows
    another replica is placing right now are skipped.

    However deep in the queue they wait: a freed agent with a rare skill gets the incidents that
    need it even when thousands that it cannot take are ahead of them. The queue is read from
    its index in the order it is served, and only the rows taken are locked."""
    qualifies = and_(
        AssignmentRow.language == any_(bindparam("languages", type_=ARRAY(Text))),
        AssignmentRow.required_skills.contained_by(
            bindparam("skills", type_=AssignmentRow.required_skills.type)
        ),
        AssignmentRow.severity == any_(bindparam("severities", type_=ARRAY(Text))),
    )
    query = (
        select(AssignmentRow)
        .where(
            AssignmentRow.status == constant("queued"),
            # One CASE, which PostgreSQL's planner takes to hold for half the rows: as plain
            # conditions it guesses that almost no row meets them (it has no statistics for a
            # jsonb array's containment, and a generic plan knows no parameter), and would read
            # and sort the whole queue where walking its index in order stops at `limit`.
            case((qualifies, true()), else_=false()),
        )
        .order_by(*_QUEUE_ORDER)
        .limit(bindparam("limit"))
        .with_for_update(skip_locked=True)
        .execution_options(populate_existing=True)
    )
    parameters = {
        "languages": sorted(agent.languages),
        "skills": sorted(skill for skill, level in agent.skills.items() if level >= 1),
        "severities": [str(severity) for severity in domain.severities_for_tier(agent.tier)],
        "limit": limit,
    }
    return [to_incident(row) for row in await session.scalars(query, parameters)]


async def queued(session: AsyncSession, *, limit: int, offset: int) -> list[AssignmentRow]:
    query = (
        select(AssignmentRow)
        .where(AssignmentRow.status == constant("queued"))
        .order_by(*_QUEUE_ORDER)
        .limit(limit)
        .offset(offset)
    )
    return list(await session.scalars(query))


async def queue_depth(session: AsyncSession) -> int:
    query = select(func.count()).where(AssignmentRow.status == constant("queued"))
    return int(await session.scalar(query) or 0)


async def lock_assigned_to(session: AsyncSession, *, agent_id: str) -> list[Incident]:
    """The agent's open incidents, locked; one being resolved right now is left to that release."""
    query = (
        select(AssignmentRow)
        .where(AssignmentRow.agent_id == agent_id, AssignmentRow.status == constant("assigned"))
        .order_by(*_QUEUE_ORDER)
        .with_for_update(skip_locked=True)
        .execution_options(populate_existing=True)
    )
    return [to_incident(row) for row in await session.scalars(query)]
