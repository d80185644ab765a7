"""What is on Kafka: the records a scenario added to some topics (read from the end offsets taken
when it began), and how far the services' consumer groups lag behind."""

from dataclasses import dataclass

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from incident_events import Topic, dead_letter_topic

from faults.poison import CONSUMER_GROUPS

EFFECT_TOPICS = (Topic.ASSIGNMENTS.value, Topic.SLA.value)
DEAD_LETTER_TOPICS = tuple(dead_letter_topic(topic) for topic in Topic)
Offsets = dict[TopicPartition, int]


@dataclass(frozen=True)
class KafkaRecord:
    topic: str
    value: bytes
    headers: dict[str, str]


async def end_offsets(bootstrap_servers: str, topics: tuple[str, ...]) -> Offsets:
    """The current end of every partition of `topics` (those that exist)."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap_servers, enable_auto_commit=False)
    await consumer.start()
    try:
        partitions = await _partitions(bootstrap_servers, topics)
        return dict(await consumer.end_offsets(partitions)) if partitions else {}
    finally:
        await consumer.stop()


async def records_since(
    bootstrap_servers: str, topics: tuple[str, ...], since: Offsets
) -> list[KafkaRecord]:
    """Every record of `topics` after `since` (a partition new since then: from its start),
    up to the end offsets as they are now."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap_servers, enable_auto_commit=False)
    await consumer.start()
    try:
        partitions = await _partitions(bootstrap_servers, topics)
        if not partitions:
            return []
        ends = await consumer.end_offsets(partitions)
        consumer.assign(partitions)
        for partition in partitions:
            consumer.seek(partition, since.get(partition, 0))
        found: list[KafkaRecord] = []
        while [p for p in partitions if await consumer.position(p) < ends[p]]:
            batches = await consumer.getmany(timeout_ms=1000)
            for partition, records in batches.items():
                found += [
                    KafkaRecord(partition.topic, record.value or b"", _headers(record.headers))
                    for record in records
                    if record.offset < ends[partition]
                ]
        return found
    finally:
        await consumer.stop()


async def consumer_lag(bootstrap_servers: str) -> int:
    """Records the services' consumer groups have yet to commit, over all their topics."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers)
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap_servers, enable_auto_commit=False)
    await admin.start()
    await consumer.start()
    try:
        lag = 0
        groups: dict[str, list[str]] = {}
        for topic, members in CONSUMER_GROUPS.items():
            for group in members:
                groups.setdefault(group, []).append(topic)
        for group, topics in groups.items():
            committed = await admin.list_consumer_group_offsets(group)
            partitions = await _partitions(bootstrap_servers, tuple(topics))
            for partition, end in (await consumer.end_offsets(partitions)).items():
                offset = committed.get(partition)
                lag += end - (offset.offset if offset is not None and offset.offset >= 0 else 0)
        return lag
    finally:
        await consumer.stop()
        await admin.close()


async def _partitions(bootstrap_servers: str, topics: tuple[str, ...]) -> list[TopicPartition]:
    """The partitions of those of `topics` that exist (a dead-letter topic may not, yet)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers)
    await admin.start()
    try:
        existing = [topic for topic in topics if topic in set(await admin.list_topics())]
        described = await admin.describe_topics(existing) if existing else []
    finally:
        await admin.close()
    return sorted(
        TopicPartition(topic["topic"], partition["partition"])
        for topic in described
        for partition in topic["partitions"]
    )


def _headers(headers: object) -> dict[str, str]:
    pairs = headers if isinstance(headers, list | tuple) else ()
    return {str(key): bytes(value or b"").decode(errors="replace") for key, value in pairs}
