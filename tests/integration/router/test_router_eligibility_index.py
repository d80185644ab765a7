"""Choosing among many agents reads only those who could take the incident: the eligibility
query goes through an index of the online agents (by skills and languages, or by tier for an
incident that needs no skill), not over every agent registered. Checked on the real database
with the transaction's own table statistics, so no timing is involved, and with the generic
plan that PostgreSQL makes for a prepared statement executed often.

With 10,000 agents. Among 1,000 the table is 25 pages, and PostgreSQL may rightly read it whole
(0.4 ms there, against 0.2 through the index); the index is what keeps a decision cheap as
agents grow, and when most of those registered are offline."""

import query_plans
from incident_events.types import Severity
from router import repository
from router.domain import Agent, Incident
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

AGENTS = 10_000
SKILLS = 50
# Agent n: skill n % SKILLS, Czech if n is even, online unless n % 10 == 9, load n % 4 of 4.
INSERT_AGENTS = text(
    "INSERT INTO router.agents (agent_id, name, skills, languages, tier, capacity, presence,"
    " active_count)"
    " SELECT 'agent-' || n, 'Agent ' || n, jsonb_build_object('skill-' || n % :skills, 3),"
    ' CASE WHEN n % 2 = 0 THEN \'["cs", "en"]\'::jsonb ELSE \'["en"]\'::jsonb END, 1, 4,'
    " CASE WHEN n % 10 = 9 THEN 'offline' ELSE 'online' END, n % 4"
    " FROM generate_series(0, :agents - 1) AS n"
)
# Agent n: online only if n % 100 == 0 (most agents registered are offline at any time), load
# 0 if n % 200 == 0, else 1 of 4.
INSERT_MOSTLY_OFFLINE_AGENTS = text(
    "INSERT INTO router.agents (agent_id, name, skills, languages, tier, capacity, presence,"
    " active_count)"
    " SELECT 'agent-' || n, 'Agent ' || n, '{}'::jsonb, '[\"en\"]'::jsonb, 1, 4,"
    " CASE WHEN n % 100 = 0 THEN 'online' ELSE 'offline' END,"
    " CASE WHEN n % 200 = 0 THEN 0 ELSE 1 END"
    " FROM generate_series(0, :agents - 1) AS n"
)


AGENTS_BY_SKILL = query_plans.Seed(
    "10,000 agents by skill and language",
    "router",
    INSERT_AGENTS,
    {"skills": SKILLS, "agents": AGENTS},
)
MOSTLY_OFFLINE = query_plans.Seed(
    "10,000 agents, 100 online", "router", INSERT_MOSTLY_OFFLINE_AGENTS, {"agents": AGENTS}
)
by_skill = query_plans.seeded(AGENTS_BY_SKILL)
mostly_offline = query_plans.seeded(MOSTLY_OFFLINE)


async def decide(
    sessions: async_sessionmaker[AsyncSession], incident: Incident
) -> tuple[list[Agent], tuple[int, int]]:
    """The agents tied for the incident, and the sequential and index scans of the agents
    table that choosing them took, planned as the service's prepared statement is."""
    eligible, reads = await query_plans.generic_reads(
        sessions,
        "router.agents",
        lambda session: repository.least_loaded_eligible(session, incident=incident, min_tier=1),
    )
    return eligible.agents, (reads.sequential_scans, reads.index_scans)


@by_skill
async def test_a_decision_among_ten_thousand_agents_reads_only_the_eligible_ones(
    seeded_sessions: async_sessionmaker[AsyncSession],
) -> None:
    incident = Incident("inc-1", Severity.HIGH, "cs", required_skills=("skill-8",))
    tied, (seq_scans, index_scans) = await decide(seeded_sessions, incident)

    # Skill 8 of 50 in Czech: agents 8, 58, 108, ... (all even, so all speak Czech), at load
    # 0 when n % 4 == 0: the least loaded of the 200 eligible are agents 8, 108, 208, ...
    expected = {f"agent-{n}" for n in range(8, AGENTS, 100)}
    assert {agent.agent_id for agent in tied} == expected
    assert all(agent.active_count == 0 for agent in tied)
    assert (seq_scans, index_scans) == (0, 1), "the agents table was read whole"


@by_skill
async def test_offline_agents_are_not_in_the_index_and_never_chosen(
    seeded_sessions: async_sessionmaker[AsyncSession],
) -> None:
    # Agents n % 10 == 9 are offline; skill 9 (n % 50 == 9) belongs to offline agents only.
    incident = Incident("inc-2", Severity.LOW, "en", required_skills=("skill-9",))
    tied, (seq_scans, index_scans) = await decide(seeded_sessions, incident)

    assert tied == []
    assert (seq_scans, index_scans) == (0, 1)


@mostly_offline
async def test_an_incident_needing_no_skill_reads_only_the_online_agents(
    seeded_sessions: async_sessionmaker[AsyncSession],
) -> None:
    # No skill required: the GIN index has nothing to search by; 100 of 10,000 are online.
    incident = Incident("inc-3", Severity.LOW, "en", required_skills=())
    tied, (seq_scans, index_scans) = await decide(seeded_sessions, incident)

    # Online: agents 0, 100, 200, ...; at load 0 of them: 0, 200, 400, ...
    assert {agent.agent_id for agent in tied} == {f"agent-{n}" for n in range(0, AGENTS, 200)}
    assert (seq_scans, index_scans) == (0, 1), "the agents table was read whole"
