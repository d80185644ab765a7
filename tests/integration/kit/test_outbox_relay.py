"""The outbox relay with replicas, on the real broker and database: one relay publishes while
the others stand by, a standby takes over when the leader stops, a standby does not keep vacuum
from removing the rows the leader has marked published, a published batch is marked by the next
round's claim (or when the relay stops), a claim passes the rows published since the last
vacuum once, not on every round, and old published rows are pruned without touching what is
unpublished or young, past quarantined rows and those held behind them
(tests/integration/kit/test_outbox_quarantine.py has the quarantine itself)."""

import json
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any
from uuid import uuid4

import asyncpg
import pytest
from aiokafka import AIOKafkaProducer
from harness import EventReader, eventually
from incident_devstack.pytest_plugin import Infra
from incident_kit.clock import FrozenClock
from incident_kit.database import create_engine, create_session_factory, service_metadata
from incident_kit.metrics import ServiceMetrics
from incident_kit.outbox import add_events, outbox_table
from incident_kit.relay import CLAIM, SERVER_SETTINGS, OutboxRelay
from integration.kit.support import T0, create_tables, reopened
from prometheus_client import CollectorRegistry
from sqlalchemy import func, select, update
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

pytestmark = pytest.mark.integration
metadata = service_metadata("kitrelay")
outbox = outbox_table(metadata)


@pytest.fixture
async def sessions(fresh_database_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = create_engine(fresh_database_url)
    await create_tables(engine, metadata)
    yield create_session_factory(engine)
    await engine.dispose()


@pytest.fixture
async def producer(infra: Infra) -> AsyncIterator[AIOKafkaProducer]:
    producer = AIOKafkaProducer(
        bootstrap_servers=infra.kafka_bootstrap_servers, enable_idempotence=True
    )
    await producer.start()
    yield producer
    await producer.stop()


def relay(
    sessions: async_sessionmaker[AsyncSession],
    producer: AIOKafkaProducer,
    database_url: str,
    prefix: str = "",
    poll_seconds: float = 0.2,
) -> tuple[OutboxRelay, ServiceMetrics]:
    metrics = ServiceMetrics(CollectorRegistry(), "kitrelay")
    relay = OutboxRelay(
        session_factory=sessions,
        table=outbox,
        producer=producer,
        database_url=database_url,
        clock=FrozenClock(T0),
        metrics=metrics,
        poll_seconds=poll_seconds,
        retention=timedelta(hours=1),
        topic_prefix=prefix,
    )
    return relay, metrics


def published(metrics: ServiceMetrics) -> float:
    return (
        metrics.registry.get_sample_value("outbox_events_published_total", {"topic": "incidents"})
        or 0.0
    )


async def test_one_replica_publishes_and_a_standby_takes_over(
    infra: Infra,
    fresh_database_url: str,
    sessions: async_sessionmaker[AsyncSession],
    producer: AIOKafkaProducer,
    kafka_topic_prefix: str,
) -> None:
    prefix = kafka_topic_prefix
    first, first_metrics = relay(sessions, producer, fresh_database_url, prefix)
    second, second_metrics = relay(sessions, producer, fresh_database_url, prefix)
    before, after = reopened(f"before-{uuid4()}"), reopened(f"after-{uuid4()}")
    async with EventReader(infra.kafka_bootstrap_servers, [f"{prefix}incidents"]) as reader:
        await first.start()
        await eventually(lambda: first.leading)
        await second.start()
        async with sessions.begin() as session:
            await add_events(session, outbox, [before])
        await reader.wait_for(lambda e: e.id == before.id)
        # Counted once the relay marks the row published, a moment after the broker has it.
        await eventually(lambda: published(first_metrics) == 1)
        assert published(second_metrics) == 0
        assert not second.leading
        assert first_metrics.registry.get_sample_value("outbox_relay_leader") == 1
        assert second_metrics.registry.get_sample_value("outbox_relay_leader") == 0

        await first.stop()
        await eventually(lambda: second.leading)
        async with sessions.begin() as session:
            await add_events(session, outbox, [after])
        await reader.wait_for(lambda e: e.id == after.id)
        await eventually(lambda: published(second_metrics) == 1)
        await second.stop()

    assert (published(first_metrics), published(second_metrics)) == (1, 1)
    assert [e.id for e in reader.seen] == [before.id, after.id]  # each once, in commit order


async def test_what_a_standby_commits_is_published_without_waiting_for_the_leaders_poll(
    infra: Infra,
    fresh_database_url: str,
    sessions: async_sessionmaker[AsyncSession],
    producer: AIOKafkaProducer,
    kafka_topic_prefix: str,
) -> None:
    prefix, hour = kafka_topic_prefix, 3600.0  # no poll comes within the test
    leader, _ = relay(sessions, producer, fresh_database_url, prefix, poll_seconds=hour)
    standby, _ = relay(sessions, producer, fresh_database_url, prefix, poll_seconds=hour)
    first, event = reopened(f"first-{uuid4()}"), reopened(f"standby-{uuid4()}")
    async with EventReader(infra.kafka_bootstrap_servers, [f"{prefix}incidents"]) as reader:
        async with sessions.begin() as session:
            await add_events(session, outbox, [first])
        await leader.start()
        await standby.start()
        try:
            # Published by the leader's first claim, so it has claimed: only a wake-up or its
            # poll makes it claim again.
            await reader.wait_for(lambda e: e.id == first.id)
            async with sessions.begin() as session:
                await add_events(session, outbox, [event])
            standby.wake()  # as a standby process's commit hook does: a NOTIFY to the leader

            await reader.wait_for(lambda e: e.id == event.id)
        finally:
            await standby.stop()
            await leader.stop()
    assert not standby.leading


async def test_a_standby_leaves_vacuum_free_to_remove_what_the_leader_marked_published(
    fresh_database_url: str,
    sessions: async_sessionmaker[AsyncSession],
    producer: AIOKafkaProducer,
    kafka_topic_prefix: str,
) -> None:
    # A standby that waited inside pg_advisory_lock held its snapshot all along: no dead row of
    # the database could be removed, and the leader's claims re-read every published row.
    leader, metrics = relay(sessions, producer, fresh_database_url, kafka_topic_prefix)
    standby, _ = relay(sessions, producer, fresh_database_url, kafka_topic_prefix)
    dsn = make_url(fresh_database_url).set(drivername="postgresql").render_as_string(False)
    admin = await asyncpg.connect(dsn)
    try:
        await leader.start()
        await eventually(lambda: leader.leading)
        await standby.start()
        await eventually(lambda: _standby_trying(admin))
        async with sessions.begin() as session:
            await add_events(session, outbox, [reopened(f"k-{i}") for i in range(3)])
        await eventually(lambda: published(metrics) == 3)
        # Marked by the relay's next round, the poll's when nothing else comes: three row
        # versions are then dead.
        await eventually(lambda: _marked(admin, 3))

        tuples = await _vacuum_tuples(admin)

        assert not standby.leading
        assert "3 removed" in tuples and "0 are dead but not yet removable" in tuples, tuples
    finally:
        await standby.stop()
        await leader.stop()
        await admin.close()


async def test_published_events_are_marked_by_the_next_round_or_when_the_relay_stops(
    fresh_database_url: str,
    sessions: async_sessionmaker[AsyncSession],
    producer: AIOKafkaProducer,
    kafka_topic_prefix: str,
) -> None:
    # A poll long enough that only the next wake-up's round, or stopping, can mark them.
    leader, metrics = relay(
        sessions, producer, fresh_database_url, kafka_topic_prefix, poll_seconds=3600
    )
    dsn = make_url(fresh_database_url).set(drivername="postgresql").render_as_string(False)
    admin = await asyncpg.connect(dsn)
    try:
        await leader.start()
        await eventually(lambda: leader.leading)
        async with sessions.begin() as session:
            await add_events(session, outbox, [reopened(f"m-{i}") for i in range(2)])
        leader.wake()
        await eventually(lambda: published(metrics) == 2)
        assert await _marked(admin, 0)  # published, not yet marked: no round since
        async with sessions.begin() as session:
            await add_events(session, outbox, [reopened("m-2")])
        leader.wake()
        await eventually(lambda: published(metrics) == 3)
        await eventually(lambda: _marked(admin, 2))  # the round that published m-2 marked two

        await leader.stop()

        assert await _marked(admin, 3)
        assert published(metrics) == 3  # nothing was published twice
    finally:
        await leader.stop()
        await admin.close()


async def test_a_claim_passes_rows_published_since_the_last_vacuum_once_not_every_round(
    fresh_database_url: str, sessions: async_sessionmaker[AsyncSession]
) -> None:
    # The relay's claim is prepared once, and its plan kept from rounds on a nearly empty outbox:
    # it marked by reading the whole table and claimed through a bitmap that visits every
    # published row's page on every round (1-2.6 ms a claim at 200/s in a new stack).
    dsn = make_url(fresh_database_url).set(drivername="postgresql").render_as_string(False)
    admin = await asyncpg.connect(dsn)
    claimer = await asyncpg.connect(dsn, server_settings=SERVER_SETTINGS)
    try:
        # The plan PostgreSQL may keep after five rounds, made here while the outbox is empty.
        await claimer.execute("SET plan_cache_mode = force_generic_plan")
        await claimer.execute(
            f"PREPARE claim(int, timestamptz, bigint[]) AS {CLAIM.format(table=_name())}"
        )
        await claimer.execute("EXECUTE claim(500, now(), '{}')")
        async with sessions.begin() as session:
            await add_events(session, outbox, [reopened(f"p-{i}") for i in range(3000)])
        # Published and marked, as the relay's rounds leave them until a vacuum comes.
        await admin.execute(f"UPDATE {_name()} SET published_at = now()")
        async with sessions.begin() as session:
            await add_events(session, outbox, [reopened("waiting")])

        first = await _explained_claim(claimer, marking=[1, 2])
        second = await _explained_claim(claimer, marking=[3, 4])

        assert first["Actual Rows"] == second["Actual Rows"] == 1
        assert _pages(first) > 100  # the index's dead entries, passed once
        assert _pages(second) < 30, second
    finally:
        await claimer.close()
        await admin.close()


def _name() -> str:
    return f"{outbox.schema}.{outbox.name}"


def _pages(plan: dict[str, Any]) -> int:
    pages: int = plan["Shared Hit Blocks"] + plan["Shared Read Blocks"]
    return pages


async def _explained_claim(connection: asyncpg.Connection, *, marking: list[int]) -> dict[str, Any]:
    """The prepared claim's round as it ran, with the plan it kept."""
    ids = "{" + ",".join(map(str, marking)) + "}"
    plan = await connection.fetchval(
        f"EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) EXECUTE claim(500, now(), '{ids}')"
    )
    top: dict[str, Any] = json.loads(plan)[0]["Plan"]
    return top


async def _marked(admin: asyncpg.Connection, count: int) -> bool:
    query = f"SELECT count(*) FROM {_name()} WHERE published_at IS NOT NULL"
    marked: int = await admin.fetchval(query)
    return marked == count


async def _standby_trying(admin: asyncpg.Connection) -> bool:
    """Both relay connections are up, and the standby's has asked for the lock."""
    queries = await admin.fetch(
        "SELECT query FROM pg_stat_activity WHERE application_name = 'kitrelay outbox relay' "
        "AND datname = current_database()"
    )
    return len(queries) == 2 and any("advisory_lock" in row["query"] for row in queries)


async def _vacuum_tuples(admin: asyncpg.Connection) -> str:
    """VACUUM VERBOSE's line on the outbox's tuples, e.g. "tuples: 3 removed, 0 remain, ..."."""
    messages: list[str] = []
    admin.add_log_listener(lambda _, message: messages.append(str(message)))
    await admin.execute(f"VACUUM (VERBOSE) {_name()}")
    return next(line for m in messages for line in m.splitlines() if "tuples:" in line)


async def test_prune_deletes_old_published_events_up_to_the_first_pending_one(
    fresh_database_url: str,
    sessions: async_sessionmaker[AsyncSession],
    producer: AIOKafkaProducer,
) -> None:
    pruner, metrics = relay(sessions, producer, fresh_database_url)  # retention: 1 hour
    old, young = T0 - timedelta(hours=2), T0 - timedelta(minutes=5)
    # In commit order: two old published, an old pending, an old published, a young published.
    ages = {"a": old, "b": old, "pending": old, "d": old, "young": young}
    for name, created_at in ages.items():
        async with sessions.begin() as session:
            await add_events(session, outbox, [reopened(name)])
            await session.execute(
                update(outbox).where(outbox.c.message_key == name).values(created_at=created_at)
            )
    await set_published(sessions, ["a", "b", "d", "young"])

    assert await pruner.prune() == 2
    assert await keys_left(sessions) == ["pending", "d", "young"]

    await set_published(sessions, ["pending"])
    assert await pruner.prune() == 2
    assert await keys_left(sessions) == ["young"]
    assert await pruner.prune() == 0
    assert metrics.registry.get_sample_value("outbox_events_pruned_total") == 4


async def test_prune_passes_quarantined_events_and_those_held_behind_them(
    fresh_database_url: str,
    sessions: async_sessionmaker[AsyncSession],
    producer: AIOKafkaProducer,
) -> None:
    pruner, _ = relay(sessions, producer, fresh_database_url)  # retention: 1 hour
    old = T0 - timedelta(hours=2)
    # In commit order: published, quarantined (incident k), published, held (k), published.
    for name in ("a", "k", "b", "k", "c"):
        async with sessions.begin() as session:
            await add_events(session, outbox, [reopened(name)])
    async with sessions.begin() as session:
        await session.execute(update(outbox).values(created_at=old))
        first_of_k = select(func.min(outbox.c.id)).where(outbox.c.message_key == "k")
        await session.execute(
            update(outbox)
            .where(outbox.c.id == first_of_k.scalar_subquery())
            .values(quarantined_at=T0, error="MessageSizeTooLargeError")
        )
    await set_published(sessions, ["a", "b", "c"])

    assert await pruner.prune() == 3  # neither the quarantined row nor the held one bounds it
    assert await keys_left(sessions) == ["k", "k"]


async def set_published(sessions: async_sessionmaker[AsyncSession], keys: list[str]) -> None:
    async with sessions.begin() as session:
        published = update(outbox).where(outbox.c.message_key.in_(keys)).values(published_at=T0)
        await session.execute(published)


async def keys_left(sessions: async_sessionmaker[AsyncSession]) -> list[str]:
    async with sessions() as session:
        query = select(outbox.c.message_key).order_by(outbox.c.id)
        return list((await session.scalars(query)).all())
