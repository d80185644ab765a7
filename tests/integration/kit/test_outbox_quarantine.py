"""The outbox quarantine on the real broker and database: an event the broker will never take is
quarantined with its error and counted, the events of other incidents are published around it
(also those committed after it), and the later events of its own incident are held behind it
until an operator releases it.

Two limits are met: a topic's own max.message.bytes, which the broker enforces on a whole record
batch (its neighbours are sent again one by one, and the producer's numbering of the partition
is rewound, or nothing could be sent to it again); and the broker-wide limit of about 1 MiB
(message.max.bytes, the devstack broker keeps Kafka's default), which the producer enforces
before sending.
"""

from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any
from uuid import uuid4

import pytest
from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
from harness import EventReader, eventually
from incident_devstack.pytest_plugin import Infra
from incident_events import Event
from incident_kit.clock import FrozenClock
from incident_kit.database import create_engine, create_session_factory, service_metadata
from incident_kit.metrics import ServiceMetrics
from incident_kit.outbox import add_events, outbox_table
from incident_kit.relay import OutboxRelay
from integration.kit.support import T0, create_tables, reopened
from prometheus_client import CollectorRegistry
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

pytestmark = pytest.mark.integration
metadata = service_metadata("kitquarantine")
outbox = outbox_table(metadata)
TOPIC_LIMIT = 20_000


@pytest.fixture
async def sessions(fresh_database_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = create_engine(fresh_database_url)
    await create_tables(engine, metadata)
    yield create_session_factory(engine)
    await engine.dispose()


@pytest.fixture
async def relay(
    infra: Infra,
    fresh_database_url: str,
    sessions: async_sessionmaker[AsyncSession],
    kafka_topic_prefix: str,
) -> AsyncIterator[OutboxRelay]:
    # As the services build theirs (incident_kit.service.build_runtime).
    producer = AIOKafkaProducer(
        bootstrap_servers=infra.kafka_bootstrap_servers,
        enable_idempotence=True,
        acks="all",
        linger_ms=2,
    )
    await producer.start()
    relay = OutboxRelay(
        session_factory=sessions,
        table=outbox,
        producer=producer,
        database_url=fresh_database_url,
        clock=FrozenClock(T0),
        metrics=ServiceMetrics(CollectorRegistry(), "kitquarantine"),
        poll_seconds=0.2,
        retention=timedelta(hours=1),
        topic_prefix=kafka_topic_prefix,
    )
    await relay.start()
    await eventually(lambda: relay.leading)
    yield relay
    await relay.stop()
    await producer.stop()


async def configure_topic(infra: Infra, topic: str, *, max_message_bytes: int) -> None:
    """Create the topic with one partition (every row shares it) and that limit, or change it."""
    admin = AIOKafkaAdminClient(bootstrap_servers=infra.kafka_bootstrap_servers)
    await admin.start()
    try:
        configs = {"max.message.bytes": str(max_message_bytes)}
        if topic in await admin.list_topics():
            resource = ConfigResource(ConfigResourceType.TOPIC, topic, configs=configs)
            await admin.alter_configs([resource])
        else:
            await admin.create_topics([NewTopic(topic, 1, 1, topic_configs=configs)])
    finally:
        await admin.close()


async def commit(sessions: async_sessionmaker[AsyncSession], *events: Event[Any]) -> None:
    async with sessions.begin() as session:
        await add_events(session, outbox, events)


async def row_of(sessions: async_sessionmaker[AsyncSession], event: Event[Any]) -> Any:
    async with sessions() as session:
        query = select(outbox).where(outbox.c.event_id == event.id)
        return (await session.execute(query)).one()


def sample(relay: OutboxRelay, name: str, **labels: str) -> float:
    value = relay._metrics.registry.get_sample_value(name, labels)
    return value or 0.0


async def test_an_event_too_large_for_its_topic_is_quarantined_and_holds_only_its_incident(
    infra: Infra,
    sessions: async_sessionmaker[AsyncSession],
    relay: OutboxRelay,
    kafka_topic_prefix: str,
) -> None:
    topic = f"{kafka_topic_prefix}incidents"
    await configure_topic(infra, topic, max_message_bytes=TOPIC_LIMIT)
    stuck = f"stuck-{uuid4()}"
    before, too_large = reopened(f"before-{uuid4()}"), reopened(stuck, "x" * TOPIC_LIMIT)
    other, behind = reopened(f"other-{uuid4()}"), reopened(stuck, "behind the large one")
    async with EventReader(infra.kafka_bootstrap_servers, [topic]) as reader:
        await commit(sessions, before, too_large, other, behind)  # claimed as one batch
        await reader.wait_for(lambda e: e.id == other.id)
        await eventually(
            lambda: sample(relay, "outbox_events_quarantined_total", topic="incidents")
        )
        quarantined = await row_of(sessions, too_large)
        assert quarantined.published_at is None and quarantined.quarantined_at == T0
        assert quarantined.error.startswith("MessageSizeTooLargeError")

        # Later events: another incident's is published, the stuck incident's is held.
        after, later = reopened(f"after-{uuid4()}"), reopened(stuck, "still behind")
        await commit(sessions, after, later)
        await reader.wait_for(lambda e: e.id == after.id)
        for held in (behind, later):
            row = await row_of(sessions, held)
            assert (row.published_at, row.quarantined_at) == (None, None)
        assert [e.id for e in reader.seen] == [before.id, other.id, after.id]
        await eventually(lambda: sample(relay, "outbox_held_events") == 2, timeout=15)
        assert sample(relay, "outbox_quarantined_events") == 1
        assert sample(relay, "outbox_pending_events") == 0
        assert sample(relay, "outbox_events_quarantined_total", topic="incidents") == 1

        # The runbook: lift the cause, release the row; it leaves first, then those it held.
        await configure_topic(infra, topic, max_message_bytes=2 * TOPIC_LIMIT)
        async with sessions.begin() as session:
            await session.execute(
                update(outbox)
                .where(outbox.c.event_id == too_large.id)
                .values(quarantined_at=None, error=None)
            )
        relay.wake()
        await reader.wait_for(lambda e: e.id == later.id)
    assert [e.subject for e in reader.seen][-3:] == [stuck, stuck, stuck]
    assert [e.id for e in reader.seen][-3:] == [too_large.id, behind.id, later.id]


async def test_an_event_too_large_for_the_broker_is_quarantined_and_so_is_a_broken_payload(
    infra: Infra,
    sessions: async_sessionmaker[AsyncSession],
    relay: OutboxRelay,
    kafka_topic_prefix: str,
) -> None:
    topic = f"{kafka_topic_prefix}incidents"
    stuck, broken = f"stuck-{uuid4()}", reopened(f"broken-{uuid4()}")
    too_large = reopened(stuck, "x" * 1_100_000)  # over the broker's message.max.bytes
    behind, other = reopened(stuck, "behind the large one"), reopened(f"other-{uuid4()}")
    async with EventReader(infra.kafka_bootstrap_servers, [topic]) as reader:
        async with sessions.begin() as session:
            await add_events(session, outbox, [too_large, broken, behind, other])
            await session.execute(
                update(outbox).where(outbox.c.event_id == broken.id).values(payload="<html>")
            )
        await reader.wait_for(lambda e: e.id == other.id)
        await eventually(
            lambda: sample(relay, "outbox_events_quarantined_total", topic="incidents") == 2
        )
    assert (await row_of(sessions, too_large)).error.startswith("MessageSizeTooLargeError")
    assert (await row_of(sessions, broken)).error.startswith("UnpublishablePayload")
    held = await row_of(sessions, behind)
    assert (held.published_at, held.quarantined_at) == (None, None)
    assert all(e.subject != stuck for e in reader.seen)
