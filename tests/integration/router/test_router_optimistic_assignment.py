"""Assigning a reported incident in the statement that locks the agent, on the real database:
only if the agent's row is still the one the choice was made from. An agent changed meanwhile
(another replica gave it work, an operator took it offline) is left as it is, so the router
locks and checks it again instead (`placement.place_reported`); an incident the router has a
row of is not assigned twice."""

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import harness
import pytest
from incident_events.types import Severity
from incident_kit.database import create_engine, create_session_factory
from router import repository
from router.domain import Incident
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

pytestmark = pytest.mark.integration
NOW = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)
INCIDENT = Incident("inc-1", Severity.HIGH, "cs", required_skills=("network",))
ADD_AGENT = text(
    "INSERT INTO router.agents (agent_id, name, skills, languages, tier, capacity, presence,"
    " active_count) VALUES ('ann', 'Ann', '{\"network\": 3}', '[\"cs\"]', 3, 2, 'online', 0)"
)
LOAD = text("SELECT active_count FROM router.agents WHERE agent_id = 'ann'")
ASSIGNEE = text("SELECT agent_id FROM router.assignments WHERE incident_id = :incident_id")


@pytest.fixture
async def sessions(fresh_database_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    await asyncio.to_thread(harness.migrate, fresh_database_url, "router")
    engine = create_engine(fresh_database_url)
    async with engine.begin() as connection:
        await connection.execute(ADD_AGENT)
    yield create_session_factory(engine)
    await engine.dispose()


async def seen_version(sessions: async_sessionmaker[AsyncSession]) -> int:
    async with sessions.begin() as session:
        eligible = await repository.best_eligible(session, incident=INCIDENT, min_tier=1)
    return eligible.versions["ann"]


async def assign(
    sessions: async_sessionmaker[AsyncSession], version: int, incident: Incident = INCIDENT
) -> bool | None:
    async with sessions.begin() as session:
        return await repository.assign_new_if_unchanged(
            session, incident=incident, agent_id="ann", version=version, reason="r", now=NOW
        )


async def state(sessions: async_sessionmaker[AsyncSession]) -> tuple[int, str | None]:
    async with sessions() as session:
        load = (await session.execute(LOAD)).scalar_one()
        assignee = (await session.execute(ASSIGNEE, {"incident_id": "inc-1"})).scalar()
    return load, assignee


async def test_an_agent_unchanged_since_the_choice_is_assigned_once(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    version = await seen_version(sessions)

    assert await assign(sessions, version) is True
    assert await state(sessions) == (1, "ann")
    # The same incident again (a report under another event id): the router has its row.
    assert await assign(sessions, await seen_version(sessions)) is False
    assert await state(sessions) == (1, "ann")


async def test_an_agent_changed_since_the_choice_is_left_as_it_is(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    version = await seen_version(sessions)
    async with sessions.begin() as session:  # meanwhile, another replica gives Ann work
        await repository.change_load(session, agent_id="ann", delta=1, now=NOW)

    assert await assign(sessions, version) is None
    assert await state(sessions) == (1, None)  # neither assigned nor counted
