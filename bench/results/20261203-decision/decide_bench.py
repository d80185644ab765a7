"""One-off: the router's CPU and wall time for a decision among 1,000 agents, the old way and
the new, on a scratch database of the stack's PostgreSQL (see README.md beside it).

- a decision among 1,000 idle agents (all tied at no load): the old eligibility query (every
  agent tied at the lowest load, from the router's repository at commit 324816f, read with
  `git show`) against the new (`best_eligible`: the database ranks and sends one);
- a report that must wait, all 1,000 agents at capacity: every online agent loaded for the
  queue reason (the old repository's `online_agents`, then `choose_agent`) against the counts
  (`count_candidates`).
"""

import asyncio
import importlib.util
import os
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from incident_devstack.postgres import create_database, drop_database
from incident_events.types import Severity
from incident_kit.database import create_engine, create_session_factory
from router import domain, repository
from router.domain import Incident
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE.parents[2] / "tests"))
import harness  # noqa: E402  (the tests' migration helper)

ADD_AGENTS = text(
    "INSERT INTO router.agents (agent_id, name, skills, languages, tier, capacity, presence,"
    " active_count) SELECT 'agent-' || n, 'Agent ' || n, '{\"billing\": 3}', '[\"en\", \"cs\"]',"
    " 2, 5, 'online', :load FROM generate_series(1, 1000) AS n"
)
INCIDENT = Incident("inc", Severity.LOW, "en", required_skills=("billing",))
OLD_COMMIT = "324816f"
Decide = Callable[[AsyncSession], Awaitable[Any]]


def old_repository() -> Any:
    """The router's repository as of commit 324816f, before this stop's changes to it."""
    source = subprocess.run(
        ["git", "show", f"{OLD_COMMIT}:services/router/src/router/repository.py"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    with tempfile.NamedTemporaryFile("w", suffix=".py", delete=False) as file:
        file.write(source)
    spec = importlib.util.spec_from_file_location("old_repository", file.name)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


async def timed(sessions: async_sessionmaker[AsyncSession], label: str, decide: Decide) -> None:
    async with sessions() as session:
        for _ in range(20):
            await decide(session)
        count = 300
        cpu, wall = time.process_time(), time.perf_counter()
        for _ in range(count):
            answer = await decide(session)
        cpu_ms = (time.process_time() - cpu) / count * 1000
        wall_ms = (time.perf_counter() - wall) / count * 1000
    print(f"{label}: wall {wall_ms:.2f} ms, client CPU {cpu_ms:.2f} ms per decision ({answer})")


async def main() -> None:
    base = os.environ["DATABASE_URL"]
    name = f"scratch_{uuid.uuid4().hex[:8]}"
    url = create_database(name, database_url=base)
    old = old_repository()
    try:
        await asyncio.to_thread(harness.migrate, url, "router")
        engine = create_engine(url)
        sessions = create_session_factory(engine)

        async def old_choice(session: AsyncSession) -> str:
            eligible = await old.least_loaded_eligible(session, incident=INCIDENT, min_tier=1)
            return f"{len(eligible.agents)} rows"

        async def new_choice(session: AsyncSession) -> str:
            eligible = await repository.best_eligible(session, incident=INCIDENT, min_tier=1)
            return f"{len(eligible.agents)} rows"

        async def old_reason(session: AsyncSession) -> str:
            agents = await old.online_agents(session)
            decision = domain.choose_agent(INCIDENT, agents)
            return decision.reason

        async def new_reason(session: AsyncSession) -> str:
            counts = await repository.count_candidates(session, incident=INCIDENT, min_tier=1)
            return domain.reason_to_wait(INCIDENT, counts)

        for load, pairs in ((0, (old_choice, new_choice)), (5, (old_reason, new_reason))):
            async with engine.begin() as connection:
                await connection.execute(text("DELETE FROM router.agents"))
                await connection.execute(ADD_AGENTS, {"load": load})
                await connection.execute(text("ANALYZE router.agents"))
            for _ in range(2):
                for decide in pairs:
                    await timed(sessions, f"load {load}/5, {decide.__name__}", decide)
        await engine.dispose()
    finally:
        drop_database(name, database_url=base)


asyncio.run(main())
