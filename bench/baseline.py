"""The baseline: a raw aiokafka produce -> consume round trip on the same broker, same run.

It is the floor any pipeline through Kafka pays; the system's latency is reported against it.
"""

import asyncio
import time
from uuid import uuid4

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from incident_devstack.topics import delete_topics

from bench.stats import summarize


async def raw_round_trip(bootstrap: str, *, count: int, rate: float) -> dict[str, float]:
    topic = f"bench-baseline-{uuid4().hex[:8]}"
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    await admin.create_topics([NewTopic(topic, num_partitions=3, replication_factor=1)])
    await admin.close()
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=bootstrap, group_id=topic, auto_offset_reset="earliest"
    )
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, enable_idempotence=True)
    await consumer.start()
    await producer.start()
    try:
        await wait_for_assignment(consumer)
        sent: dict[bytes, float] = {}
        receiving = asyncio.create_task(_receive(consumer, sent, count))
        started = time.perf_counter()
        for index in range(count):
            key = str(index).encode()
            sent[key] = time.perf_counter()
            await producer.send(topic, key=key, value=b"x" * 600)
            await pace(started, index + 1, rate)
        latencies = await asyncio.wait_for(receiving, timeout=120)
        return summarize(latencies, time.perf_counter() - started)
    finally:
        await producer.stop()
        await consumer.stop()
        await asyncio.to_thread(delete_topics, bootstrap, topic)


async def wait_for_assignment(consumer: AIOKafkaConsumer) -> None:
    """Let the consumer get its partitions before the clock starts."""
    while not consumer.assignment():
        await consumer.getmany(timeout_ms=200)


async def _receive(consumer: AIOKafkaConsumer, sent: dict[bytes, float], count: int) -> list[float]:
    latencies: list[float] = []
    while len(latencies) < count:
        batches = await consumer.getmany(timeout_ms=500)
        now = time.perf_counter()
        for records in batches.values():
            latencies += [now - sent[record.key] for record in records if record.key in sent]
    return latencies


async def pace(started: float, done: int, rate: float) -> None:
    """Keep a fixed send rate: wait until the next message is due (open-loop load)."""
    due = started + done / rate
    delay = due - time.perf_counter()
    if delay > 0:
        await asyncio.sleep(delay)
