"""The timer reads only the running clocks that are due, through the index of running clocks,
however many clocks have stopped before: every incident leaves two behind, so a busy year
holds millions. Checked on the real database with the transaction's own table statistics (no
timing), and with the generic plan PostgreSQL makes for a prepared statement executed often."""

from datetime import UTC, datetime

import query_plans
from sla import repository
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

CLOCKS = 20_000
# Clock n: running if n % 20 == 0 (1,000 running), else met; its next firing n seconds after
# the epoch (running ones only).
INSERT_CLOCKS = text(
    "INSERT INTO sla.clocks (clock_id, incident_id, metric, policy_id, calendar, target_seconds,"
    " warn_at_percent, started_at, due_at, status, warned_percents, next_fire_at)"
    " SELECT 'clock-' || n, 'inc-' || n, 'resolution', 'standard', '24x7', 3600, '[80]'::jsonb,"
    " to_timestamp(0), to_timestamp(n + 3600),"
    " CASE WHEN n % 20 = 0 THEN 'running' ELSE 'met' END, '[]'::jsonb,"
    " CASE WHEN n % 20 = 0 THEN to_timestamp(n) END"
    " FROM generate_series(0, :clocks - 1) AS n"
)


pytestmark = query_plans.seeded(
    query_plans.Seed("1,000 running clocks among 20,000", "sla", INSERT_CLOCKS, {"clocks": CLOCKS})
)


async def test_the_timer_reads_only_the_due_running_clocks(
    seeded_sessions: async_sessionmaker[AsyncSession],
) -> None:
    settled = datetime.fromtimestamp(90, UTC)  # running clocks 0, 20, 40, 60 and 80 are due
    due, reads = await query_plans.generic_reads(
        seeded_sessions,
        "sla.clocks",
        lambda session: repository.due_clocks(session, settled=settled, limit=100),
    )

    assert [clock.clock_id for clock in due] == [f"clock-{n}" for n in range(0, 100, 20)]
    assert reads.sequential_scans == 0, "the clocks table was read whole"
    assert reads.rows_fetched_by_index == 5, f"{reads} for the 5 clocks due"
