"""Assigning a reported incident in the statement that chooses and locks its agent, on the real
database (`repository.assign_best_new`): the agent the database ranks first gets it and one
more of load, once; an incident the router has a row of is not assigned again; with no agent
eligible nothing changes; and an agent that another replica fills while the statement waits
for its lock is passed over for the next-ranked one, never overfilled. The agent and reason
match the domain's (tests/integration/router/test_router_eligibility_index.py)."""

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import harness
import pytest
from incident_events.types import Severity
from incident_kit.database import create_engine, create_session_factory
from router import repository
from router.domain import Incident
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

pytestmark = pytest.mark.integration
NOW = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)
INCIDENT = Incident("inc-1", Severity.HIGH, "cs", required_skills=("network",))
# Ann (load 0 of 2) ranks before Bob (1 of 2); both speak Czech with network at tier 3.
ADD_AGENTS = text(
    "INSERT INTO router.agents (agent_id, name, skills, languages, tier, capacity, presence,"
    " active_count) VALUES"
    " ('ann', 'Ann', '{\"network\": 3}', '[\"cs\"]', 3, 2, 'online', 0),"
    " ('bob', 'Bob', '{\"network\": 3}', '[\"cs\"]', 3, 2, 'online', 1)"
)
LOADS = text("SELECT agent_id, active_count FROM router.agents ORDER BY agent_id")
ASSIGNEES = text("SELECT incident_id, agent_id FROM router.assignments ORDER BY incident_id")


@pytest.fixture
async def sessions(fresh_database_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    await asyncio.to_thread(harness.migrate, fresh_database_url, "router")
    engine = create_engine(fresh_database_url)
    async with engine.begin() as connection:
        await connection.execute(ADD_AGENTS)
    yield create_session_factory(engine)
    await engine.dispose()


async def assign(
    sessions: async_sessionmaker[AsyncSession], incident: Incident = INCIDENT
) -> repository.AssignedNew | None:
    async with sessions.begin() as session:
        return await repository.assign_best_new(session, incident=incident, min_tier=3, now=NOW)


async def state(sessions: async_sessionmaker[AsyncSession]) -> tuple[dict[str, int], list[Any]]:
    async with sessions() as session:
        loads: dict[str, int] = dict((await session.execute(LOADS)).all())
        assignees = [tuple(row) for row in await session.execute(ASSIGNEES)]
    return loads, assignees


async def test_the_best_agent_gets_a_report_once(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    first = await assign(sessions)
    # The same incident again (a report under another event id): the router has its row.
    again = await assign(sessions)

    assert first is not None and first.agent.agent_id == "ann"
    assert first.agent.active_count == 0  # as chosen, before the count
    assert first.reason == "skills network:3; speaks cs; tier 3 >= 3 for high; load 0/2"
    assert again is not None and again.reason is None
    assert await state(sessions) == ({"ann": 1, "bob": 1}, [("inc-1", "ann")])


async def test_with_no_agent_eligible_nothing_changes(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    german = Incident("inc-de", Severity.HIGH, "de", required_skills=("network",))

    assert await assign(sessions, german) is None
    assert await state(sessions) == ({"ann": 0, "bob": 1}, [])


async def test_an_agent_filled_while_the_statement_waits_for_its_lock_is_passed_over(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with sessions.begin() as other_replica:
        # Another replica holds Ann's row and fills her to capacity, not yet committed.
        await repository.lock_agent(other_replica, agent_id="ann")
        await repository.change_load(other_replica, agent_id="ann", delta=2, now=NOW)
        waiting = asyncio.create_task(assign(sessions))
        await harness.eventually(lambda: _waits_for_a_lock(sessions))
    placed = await waiting

    assert placed is not None and placed.agent.agent_id == "bob"
    assert placed.reason == "skills network:3; speaks cs; tier 3 >= 3 for high; load 1/2"
    assert await state(sessions) == ({"ann": 2, "bob": 2}, [("inc-1", "bob")])


async def _waits_for_a_lock(sessions: async_sessionmaker[AsyncSession]) -> bool:
    async with sessions() as session:
        waiting = await session.scalar(
            text(
                "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
                " AND datname = current_database()"
            )
        )
    return bool(waiting)
