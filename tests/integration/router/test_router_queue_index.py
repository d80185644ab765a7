"""The head of a deep queue is read from the queue index in the order incidents are served
(severity, then time queued, then id), not sorted out of every queued row: what the router
does each time an agent frees up, so a storm's queue must not make each look cost its depth.
Checked on the real database with the transaction's own table statistics (no timing), and
with the generic plan PostgreSQL makes for a prepared statement executed often."""

import query_plans
from router import repository
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

INCIDENTS = 20_000
# Incident n: queued when n is even (10,000 queued), else assigned to an agent; severity by
# n % 8: critical only when n % 8 == 6; queued n seconds after the epoch, so the older first.
INSERT_ASSIGNMENTS = text(
    "INSERT INTO router.assignments (incident_id, agent_id, status, reason, severity, language,"
    " required_skills, queued_at)"
    " SELECT 'inc-' || lpad(n::text, 5, '0'),"
    " CASE WHEN n % 2 = 0 THEN NULL ELSE 'agent-1' END,"
    " CASE WHEN n % 2 = 0 THEN 'queued' ELSE 'assigned' END, 'bench', "
    " (ARRAY['low', 'medium', 'high', 'low', 'medium', 'high', 'critical', 'low'])[n % 8 + 1],"
    " 'en', '[]'::jsonb, to_timestamp(n)"
    " FROM generate_series(0, :incidents - 1) AS n"
)


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
        lambda session: repository.lock_queue(session, limit=10),
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
