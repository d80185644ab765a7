"""The head of a deep queue is read from the queue index in the order incidents are served
(severity, then time queued, then id), not sorted out of every queued row: what the router
does each time an agent frees up, so a storm's queue must not make each look cost its depth.
A freed agent gets the most urgent incidents it qualifies for however deep they wait (the
router looked only at the first 500 before), the same ones the domain would give it.
Checked on the real database with the transaction's own table statistics (no timing), and
with the generic plan PostgreSQL makes for a prepared statement executed often."""

import pytest
import query_plans
from router import domain, repository
from router.domain import Agent
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

INCIDENTS = 20_000
DEEP = "inc-19996"  # the one incident in German needing legal, 7,500th in the queue
# Incident n: queued when n is even (10,000 queued), else assigned to an agent; severity by
# n % 8: critical only when n % 8 == 6; queued n seconds after the epoch, so the older first;
# in Czech when n % 3 == 0, else English; needing network, billing, both or nothing by n % 5;
# except the deep one.
INSERT_ASSIGNMENTS = text(
    "INSERT INTO router.assignments (incident_id, agent_id, status, reason, severity, language,"
    " required_skills, queued_at)"
    " SELECT 'inc-' || lpad(n::text, 5, '0'),"
    " CASE WHEN n % 2 = 0 THEN NULL ELSE 'agent-1' END,"
    " CASE WHEN n % 2 = 0 THEN 'queued' ELSE 'assigned' END, 'bench', "
    " (ARRAY['low', 'medium', 'high', 'low', 'medium', 'high', 'critical', 'low'])[n % 8 + 1],"
    " CASE WHEN n = 19996 THEN 'de' WHEN n % 3 = 0 THEN 'cs' ELSE 'en' END,"
    " CASE WHEN n = 19996 THEN '[\"legal\"]' WHEN n % 5 = 0 THEN '[\"network\"]'"
    ' WHEN n % 5 = 1 THEN \'["billing"]\' WHEN n % 5 = 2 THEN \'["billing", "network"]\''
    " ELSE '[]' END::jsonb, to_timestamp(n)"
    " FROM generate_series(0, :incidents - 1) AS n"
)
# Qualifies for every incident but the deep one.
ANYONE = Agent("any", "Any", {"billing": 2, "network": 2}, frozenset({"cs", "en"}), 3, 10)
AGENTS = [
    Agent("ann", "Ann", {"billing": 2}, frozenset({"en"}), 1, 5),
    Agent("bob", "Bob", {"network": 3, "billing": 1}, frozenset({"cs"}), 2, 3, active_count=1),
    Agent("cyd", "Cyd", {}, frozenset({"cs", "en"}), 3, 4),
    Agent("dan", "Dan", {"legal": 1}, frozenset({"de"}), 1, 2),
]


pytestmark = query_plans.seeded(
    query_plans.Seed(
        "10,000 queued among 20,000", "router", INSERT_ASSIGNMENTS, {"incidents": INCIDENTS}
    )
)


async def test_the_head_of_a_deep_queue_is_read_from_the_index_in_served_order(
    seeded_sessions: async_sessionmaker[AsyncSession],
) -> None:
    head, reads = await query_plans.generic_reads(
        seeded_sessions,
        "router.assignments",
        lambda session: repository.lock_queue_for(session, agent=ANYONE, limit=10),
    )

    # The queued critical ones (n % 8 == 6) come first, oldest first: 6, 14, 22, ...
    assert [incident.incident_id for incident in head] == [f"inc-{n:05d}" for n in range(6, 80, 8)]
    assert reads.sequential_scans == 0, "the assignments table was read whole"
    assert reads.rows_fetched_by_index == 10, f"{reads} for the head of 10"


async def test_the_queue_page_after_the_critical_ones_goes_on_with_the_high_ones(
    seeded_sessions: async_sessionmaker[AsyncSession],
) -> None:
    # 2,500 critical queued (n % 8 == 6); the next page of the operators' view starts with the
    # oldest high one (n % 8 == 2), read from the index as well.
    page, reads = await query_plans.generic_reads(
        seeded_sessions,
        "router.assignments",
        lambda session: repository.queued(session, limit=3, offset=2_500),
    )

    assert [row.incident_id for row in page] == ["inc-00002", "inc-00010", "inc-00018"]
    assert reads.sequential_scans == 0, "the assignments table was read whole"


async def test_a_freed_agent_gets_what_it_qualifies_for_however_deep_it_waits(
    seeded_sessions: async_sessionmaker[AsyncSession],
) -> None:
    dan = AGENTS[-1]  # speaks German only, and knows law: 7,499 queued are ahead of his one
    async with seeded_sessions() as session:
        taken = await repository.lock_queue_for(session, agent=dan, limit=2)

    assert [incident.incident_id for incident in taken] == [DEEP]


@pytest.mark.parametrize("agent", AGENTS, ids=[agent.agent_id for agent in AGENTS])
async def test_a_freed_agent_gets_the_incidents_the_domain_would_give_it(
    seeded_sessions: async_sessionmaker[AsyncSession], agent: Agent
) -> None:
    async with seeded_sessions() as session:
        free = agent.capacity - agent.active_count
        taken = await repository.lock_queue_for(session, agent=agent, limit=free)
        everything = await repository.queued(session, limit=20_000, offset=0)

    queue = [repository.to_incident(row) for row in everything]
    expected = [placement.incident for placement in domain.fill_from_queue(agent, queue)]
    assert taken, "the agent qualifies for some queued incidents"
    assert [i.incident_id for i in taken] == [i.incident_id for i in expected]
