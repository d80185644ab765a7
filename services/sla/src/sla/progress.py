"""Reading from Kafka how far sla's consumer group has applied a topic: the topic's first and
end offsets, and the group's committed offsets, for the timer's watermark (watermark.py).

Its own two small clients, started on first use: an admin client (partitions, the group's
committed offsets, read-only) and a consumer outside any group (first and end offsets). The
group's own consumer is left alone; the offsets it committed are read from the coordinator, so
every replica sees the whole group, not only its own partitions.
"""

import asyncio
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from aiokafka import AIOKafkaConsumer
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError, UnknownTopicOrPartitionError
from aiokafka.structs import TopicPartition
from incident_kit.kafka import client_options
from incident_kit.settings import ServiceSettings

from sla.watermark import Snapshot, snapshot

# A read that takes longer is given up; the timer tries again on its next round.
READ_TIMEOUT_SECONDS = 10.0
UNKNOWN_TOPIC_OR_PARTITION = UnknownTopicOrPartitionError.errno


class GroupProgress:
    def __init__(self, settings: ServiceSettings, *, topic: str, group: str) -> None:
        self._options = client_options(settings) | {"request_timeout_ms": 10_000}
        self._topic = topic
        self._group = group
        self._admin: AIOKafkaAdminClient | None = None
        self._reader: AIOKafkaConsumer | None = None

    async def snapshot(self, taken_at: datetime) -> Snapshot:
        """The topic's offsets now; call it after reading `taken_at`."""
        async with asyncio.timeout(READ_TIMEOUT_SECONDS):
            admin, reader = await self._clients()
            partitions = topic_partitions(self._topic, await admin.describe_topics([self._topic]))
            if not partitions:
                return snapshot(taken_at, beginnings={}, ends={})  # nothing published yet
            beginnings = await reader.beginning_offsets(partitions)
            ends = await reader.end_offsets(partitions)
        return snapshot(taken_at, beginnings=_by_partition(beginnings), ends=_by_partition(ends))

    async def committed(self) -> dict[int, int]:
        """The group's committed offset per partition of the topic (absent: never committed)."""
        async with asyncio.timeout(READ_TIMEOUT_SECONDS):
            admin, _ = await self._clients()
            offsets = await admin.list_consumer_group_offsets(self._group)
        return {
            tp.partition: meta.offset
            for tp, meta in offsets.items()
            if tp.topic == self._topic and meta.offset >= 0
        }

    async def close(self) -> None:
        if self._admin is not None:
            await self._admin.close()
        if self._reader is not None:
            await self._reader.stop()
        self._admin = self._reader = None

    async def _clients(self) -> tuple[AIOKafkaAdminClient, AIOKafkaConsumer]:
        if self._admin is None or self._reader is None:
            admin = AIOKafkaAdminClient(**self._options, client_id="sla-progress")
            # No group: it only reads offsets, it never joins, fetches records or commits.
            reader = AIOKafkaConsumer(
                **self._options, client_id="sla-progress", enable_auto_commit=False
            )
            try:
                await admin.start()
                await reader.start()
            except BaseException:
                await admin.close()
                await reader.stop()
                raise
            self._admin, self._reader = admin, reader
        return self._admin, self._reader


def topic_partitions(topic: str, described: list[dict[str, Any]]) -> list[TopicPartition]:
    """The topic's partitions from its metadata; none when it does not exist yet. Any other
    error raises: taking a partition for empty would settle moments it has not applied."""
    found: list[TopicPartition] = []
    for entry in described:
        if entry["topic"] != topic or entry["error_code"] == UNKNOWN_TOPIC_OR_PARTITION:
            continue
        errors = [entry["error_code"], *(p["error_code"] for p in entry["partitions"])]
        if any(errors):
            raise KafkaError(f"metadata of {topic} has errors {errors}")
        found += [TopicPartition(topic, p["partition"]) for p in entry["partitions"]]
    return found


def _by_partition(offsets: Mapping[TopicPartition, int]) -> dict[int, int]:
    return {tp.partition: offset for tp, offset in offsets.items()}
