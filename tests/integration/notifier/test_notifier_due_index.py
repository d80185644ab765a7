"""The delivery worker reads only the pending deliveries that are due, through the index of
pending ones, however many messages were delivered before: every incident leaves several
behind. Checked on the real database with the transaction's own table statistics (no timing),
and with the generic plan PostgreSQL makes for a prepared statement executed often."""

from datetime import UTC, datetime

import query_plans
from notifier import repository
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

DELIVERIES = 20_000
# Delivery n: pending if n % 20 == 0 (1,000 pending), else delivered; next attempt n seconds
# after the epoch.
INSERT_DELIVERIES = text(
    "INSERT INTO notifier.deliveries (notification_id, incident_id, cause_event_id, channel,"
    " template, language, recipient, subject, body, status, created_at, next_attempt_at)"
    " SELECT 'ntf-' || n, 'inc-' || n, 'evt-' || n, 'email', 'acknowledged', 'en',"
    " 'customer@example.com', 'Subject', 'Body',"
    " CASE WHEN n % 20 = 0 THEN 'pending' ELSE 'delivered' END, to_timestamp(n), to_timestamp(n)"
    " FROM generate_series(0, :deliveries - 1) AS n"
)


pytestmark = query_plans.seeded(
    query_plans.Seed(
        "1,000 pending deliveries among 20,000",
        "notifier",
        INSERT_DELIVERIES,
        {"deliveries": DELIVERIES},
    )
)


async def test_the_worker_reads_only_the_due_pending_deliveries(
    seeded_sessions: async_sessionmaker[AsyncSession],
) -> None:
    now = datetime.fromtimestamp(90, UTC)  # pending deliveries 0, 20, 40, 60 and 80 are due
    lease_until = datetime.fromtimestamp(120, UTC)
    claimed, reads = await query_plans.generic_reads(
        seeded_sessions,
        "notifier.deliveries",
        lambda session: repository.claim_due_deliveries(
            session, now=now, lease_until=lease_until, limit=100
        ),
    )

    assert [d.notification_id for d in claimed] == [f"ntf-{n}" for n in range(0, 100, 20)]
    assert reads.sequential_scans == 0, "the deliveries table was read whole"
