"""What the kit's integration tests share: a fixed time, an event to send, the Kafka record of an
event and a batch applier of it (for tests that apply batches without a broker), a service
schema with the kit's tables in a fresh database, a topic of several partitions with incident ids
spread over them, publishing many messages at once, reading a topic up to a given record, and
a consumer group's committed offsets."""

import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from uuid import uuid4

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.partitioner import DefaultPartitioner
from aiokafka.structs import ConsumerRecord
from incident_events import Event, new_event
from incident_events.incidents import IncidentReopened
from incident_kit.batch import BatchApplier, EventHandler
from incident_kit.clock import FrozenClock
from incident_kit.metrics import ServiceMetrics
from prometheus_client import CollectorRegistry
from sqlalchemy import MetaData, Table, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def reopened(incident_id: str, reason: str = "still broken") -> Event[IncidentReopened]:
    data = IncidentReopened(incident_id=incident_id, reopened_at=T0, reason=reason)
    return new_event(data, source="/kit-test", now=T0)


def record_of(
    event: Event[IncidentReopened], offset: int, partition: int = 0
) -> ConsumerRecord[bytes, bytes]:
    """The event as the consumer receives it from the incidents topic."""
    value = event.to_json()
    return ConsumerRecord(
        topic="incidents",
        partition=partition,
        offset=offset,
        timestamp=0,
        timestamp_type=0,
        key=event.subject.encode(),
        value=value,
        checksum=None,
        serialized_key_size=len(event.subject),
        serialized_value_size=len(value),
        headers=(),
    )


def reopenings_applier(
    name: str,
    handle: EventHandler,
    sessions: async_sessionmaker[AsyncSession],
    *,
    inbox: Table,
    outbox: Table,
) -> BatchApplier:
    """The kit's applier of reopenings for the service `name`, retrying nothing in place."""
    return BatchApplier(
        consumer=name,
        handle=handle,
        acts_on=(IncidentReopened,),
        sessions=sessions,
        inbox=inbox,
        outbox=outbox,
        clock=FrozenClock(T0),
        metrics=ServiceMetrics(CollectorRegistry(), name),
        source=f"/{name}",
        retries=0,
    )


async def create_tables(engine: AsyncEngine, metadata: MetaData) -> None:
    """Create the metadata's schema and its tables (what a service's migration does)."""
    async with engine.begin() as connection:
        await connection.execute(text(f"CREATE SCHEMA {metadata.schema}"))
        await connection.run_sync(metadata.create_all)


async def create_topic(bootstrap_servers: str, topic: str, *, partitions: int) -> None:
    """Create `topic` with that many partitions, whatever the broker's default for new topics."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(topic, partitions, replication_factor=1)])
    finally:
        await admin.close()


def incidents_on_every_partition(partitions: int, each: int) -> list[str]:
    """Incident ids that the producer's key partitioner spreads `each` to every partition."""
    chosen: dict[int, list[str]] = {p: [] for p in range(partitions)}
    choose = DefaultPartitioner()
    all_partitions = list(range(partitions))
    while any(len(ids) < each for ids in chosen.values()):
        incident = f"order-{uuid4()}"
        ids = chosen[choose(incident.encode(), all_partitions, all_partitions)]
        if len(ids) < each:
            ids.append(incident)
    return [incident for ids in chosen.values() for incident in ids]


async def publish_all(
    bootstrap_servers: str, topic: str, messages: list[tuple[str, bytes]]
) -> None:
    """Publish (key, value) messages in order with one producer, all sent before any is awaited,
    so a consumer that starts afterwards, or is already polling, takes them in few batches."""
    # Idempotence keeps each partition's order even with several requests in flight.
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap_servers, enable_idempotence=True)
    await producer.start()
    try:
        sent = [
            await producer.send(topic, value=value, key=key.encode()) for key, value in messages
        ]
        for delivery in sent:
            await delivery
    finally:
        await producer.stop()


async def read_raw_until(
    bootstrap_servers: str, topic: str, predicate: Callable[[Any], bool], timeout: float = 30.0
) -> list[Any]:
    """Every raw record on `topic` (one partition's order per key) up to the first that matches
    `predicate`, that one last: what was published before it, e.g. on a dead-letter topic."""
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap_servers,
        group_id=f"test-{uuid4()}",
        auto_offset_reset="earliest",
    )
    await consumer.start()
    seen: list[Any] = []
    try:
        deadline = time.monotonic() + timeout
        while (remaining := deadline - time.monotonic()) > 0:
            batches = await consumer.getmany(timeout_ms=int(min(remaining, 1.0) * 1000))
            for record in (r for records in batches.values() for r in records):
                seen.append(record)
                if predicate(record):
                    return seen
        raise AssertionError(f"no matching record on {topic} within {timeout}s; saw {len(seen)}")
    finally:
        await consumer.stop()


async def committed_offsets(servers: str, group: str) -> dict[str, int]:
    """Per topic, the sum of the group's committed offsets over its partitions."""
    admin = AIOKafkaAdminClient(bootstrap_servers=servers)
    await admin.start()
    try:
        offsets = await admin.list_consumer_group_offsets(group)
    finally:
        await admin.close()
    totals: dict[str, int] = {}
    for partition, metadata_and_offset in offsets.items():
        totals[partition.topic] = totals.get(partition.topic, 0) + metadata_and_offset.offset
    return totals
