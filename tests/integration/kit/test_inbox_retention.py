"""The inbox forgets a processed event after the retention (incident_kit.retention): old
claims are deleted a chunk at a time, young ones stay and still absorb a redelivery, replicas
pruning together skip each other's rows instead of waiting, and among many young claims the
pruning reads only the old ones, through the index the services' migrations create."""

from collections.abc import AsyncIterator, Sequence
from datetime import timedelta
from uuid import UUID

import pytest
import query_plans
from incident_events import CloudEvent
from incident_kit.clock import FrozenClock
from incident_kit.database import create_engine, create_session_factory, service_metadata
from incident_kit.inbox import claim_events, inbox_table
from incident_kit.retention import Retention, prune_older
from integration.kit.support import T0, create_tables, reopened
from prometheus_client import CollectorRegistry, Counter
from sqlalchemy import select, text, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

pytestmark = pytest.mark.integration
metadata = service_metadata("kitinbox")
inbox = inbox_table(metadata)
RETENTION = timedelta(days=14)
OLD = T0 - RETENTION - timedelta(hours=1)


@pytest.fixture
async def sessions(fresh_database_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = create_engine(fresh_database_url)
    await create_tables(engine, metadata)
    yield create_session_factory(engine)
    await engine.dispose()


def retention(
    sessions: async_sessionmaker[AsyncSession],
    *,
    chunk: int,
    registry: CollectorRegistry | None = None,
) -> Retention:
    pruned = Counter("inbox_pruned", "claims pruned", registry=registry or CollectorRegistry())
    return Retention(
        sessions, inbox.c.processed_at, FrozenClock(T0), RETENTION, pruned, chunk=chunk
    )


async def claim(
    sessions: async_sessionmaker[AsyncSession], consumer: str, events: Sequence[CloudEvent]
) -> set[UUID]:
    async with sessions.begin() as session:
        return await claim_events(session, inbox, consumer=consumer, events=events)


async def age(sessions: async_sessionmaker[AsyncSession], events: Sequence[CloudEvent]) -> None:
    """Make these events' claims older than the retention."""
    async with sessions.begin() as session:
        await session.execute(
            update(inbox)
            .where(inbox.c.event_id.in_([e.id for e in events]))
            .values(processed_at=OLD)
        )


async def claims_left(sessions: async_sessionmaker[AsyncSession]) -> set[tuple[str, UUID]]:
    async with sessions() as session:
        rows = await session.execute(select(inbox.c.consumer, inbox.c.event_id))
    return {(row.consumer, row.event_id) for row in rows}


async def test_claims_older_than_the_retention_are_pruned_and_young_ones_still_absorb_a_redelivery(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    old = [reopened(f"old-{n}") for n in range(4)]
    young = [reopened(f"young-{n}") for n in range(2)]
    await claim(sessions, "router", old[:3] + young)
    await claim(sessions, "sla", [old[3], young[0]])
    await age(sessions, old)
    registry = CollectorRegistry()
    pruner = retention(sessions, chunk=2, registry=registry)  # two full chunks, an empty one

    assert await pruner.prune() == 4
    assert await claims_left(sessions) == {
        ("router", young[0].id),
        ("router", young[1].id),
        ("sla", young[0].id),
    }
    assert registry.get_sample_value("inbox_pruned_total") == 4
    # A young claim still recognises its event when it comes again; a pruned one does not.
    assert await claim(sessions, "router", [young[0], old[0]]) == {old[0].id}
    assert await pruner.prune() == 0


async def test_replicas_pruning_together_skip_each_others_claims(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    old = [reopened(f"old-{n}") for n in range(3)]
    await claim(sessions, "router", old)
    await age(sessions, old)

    async with sessions.begin() as other_replica:
        # Another replica's pruning holds one old claim.
        await other_replica.execute(
            select(inbox.c.event_id).where(inbox.c.event_id == old[0].id).with_for_update()
        )
        assert await retention(sessions, chunk=100).prune() == 2  # not held up by it
        assert await claims_left(sessions) == {("router", old[0].id)}
    assert await retention(sessions, chunk=100).prune() == 1
    assert await claims_left(sessions) == set()


CLAIMS = 20_000
OLD_CLAIMS = 50
# Claim n: processed n seconds after the epoch for the first 50, otherwise recently.
INSERT_CLAIMS = text(
    "INSERT INTO router.inbox (consumer, event_id, event_type, processed_at)"
    " SELECT 'router', gen_random_uuid(), 'incident.reported.v1',"
    " CASE WHEN n < :old THEN to_timestamp(n) ELSE now() END"
    " FROM generate_series(0, :claims - 1) AS n"
)


@query_plans.seeded(
    query_plans.Seed(
        "50 old claims among 20,000",
        "router",
        INSERT_CLAIMS,
        {"claims": CLAIMS, "old": OLD_CLAIMS},
    )
)
async def test_pruning_reads_only_the_old_claims_through_the_migrated_index(
    seeded_sessions: async_sessionmaker[AsyncSession],
) -> None:
    processed_at = inbox_table(service_metadata("router")).c.processed_at
    cutoff = T0 - RETENTION
    pruned, reads = await query_plans.generic_reads(
        seeded_sessions,
        "router.inbox",
        lambda session: prune_older(session, processed_at, before=cutoff, limit=5000),
    )

    assert pruned == OLD_CLAIMS
    assert reads.sequential_scans == 0, "the inbox was read whole"
    assert reads.rows_fetched_by_index <= 2 * OLD_CLAIMS, f"{reads} for {OLD_CLAIMS} old claims"
