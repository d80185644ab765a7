"""Reading what is parked on a dead-letter topic, and publishing chosen messages again.

A message parked on `<topic>.dlq` (`incident_kit.dead_letter`) keeps its key, value and headers,
and dlq-* headers say which consumer group gave up on it, why, and where it came from. A replay
publishes it to the topic it came from: key and value as they were, the original headers without
the dlq-* ones, and `replayed-from` / `replayed-at` saying where from and when. The command
around this is `incident_kit.dead_letters`.
"""

import json
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.structs import TopicPartition
from incident_events import dead_letter_topic

from incident_kit.clock import Clock

READ_TIMEOUT_SECONDS = 60.0


@dataclass(frozen=True)
class ParkedMessage:
    """One dead letter: where it is parked, what it is, and the dlq-* headers made plain."""

    partition: int
    offset: int
    parked_at: datetime
    key: str | None
    group: str
    error_class: str
    reason: str
    original_topic: str
    original_partition: int | None
    original_offset: int | None
    attempts: int | None
    event_type: str | None
    event_id: str | None
    value: bytes
    headers: tuple[tuple[str, bytes], ...]

    @property
    def position(self) -> str:
        return f"{self.partition}:{self.offset}"


def parked(record: Any, *, topic: str) -> ParkedMessage:
    """A record of a dead-letter topic as a ParkedMessage; `topic` is the one it was parked from."""
    headers = tuple((k, v) for k, v in (record.headers or ()))
    named = {k: v.decode(errors="replace") for k, v in headers}
    event = _event_of(record.value or b"")
    return ParkedMessage(
        partition=record.partition,
        offset=record.offset,
        parked_at=datetime.fromtimestamp(record.timestamp / 1000, UTC),
        key=record.key.decode(errors="replace") if record.key is not None else None,
        group=named.get("dlq-consumer-group", "?"),
        error_class=named.get("dlq-error-class", "?"),
        reason=named.get("dlq-reason", ""),
        original_topic=named.get("dlq-original-topic", topic),
        original_partition=_number(named.get("dlq-original-partition")),
        original_offset=_number(named.get("dlq-original-offset")),
        attempts=_number(named.get("dlq-attempts")),
        event_type=event.get("type"),
        event_id=event.get("id"),
        value=record.value or b"",
        headers=headers,
    )


def _number(text: str | None) -> int | None:
    return int(text) if text is not None and text.lstrip("-").isdigit() else None


def _event_of(value: bytes) -> dict[str, str]:
    """The CloudEvent's type and id, if the value is one (a parse error may be why it is here)."""
    try:
        document = json.loads(value)
    except ValueError:
        return {}
    if not isinstance(document, dict):
        return {}
    return {name: str(document[name]) for name in ("type", "id") if name in document}


@dataclass(frozen=True)
class Selection:
    since: datetime | None = None
    positions: tuple[tuple[int | None, int], ...] = ()  # (partition or any, offset)
    group: str | None = None

    @property
    def empty(self) -> bool:
        return self.since is None and not self.positions and self.group is None

    def matches(self, message: ParkedMessage) -> bool:
        if self.since is not None and message.parked_at < self.since:
            return False
        if self.group is not None and message.group != self.group:
            return False
        return not self.positions or any(
            offset == message.offset and partition in (None, message.partition)
            for partition, offset in self.positions
        )


def replay_headers(message: ParkedMessage, *, dead_letters: str, now: datetime) -> list[Any]:
    """The original headers without the dlq-* ones, and where and when the replay came from."""
    kept = [(k, v) for k, v in message.headers if not k.startswith("dlq-")]
    replayed = [
        ("replayed-from", f"{dead_letters}:{message.position}".encode()),
        ("replayed-at", now.isoformat().encode()),
    ]
    return kept + replayed


async def read_dead_letters(
    options: dict[str, Any], topic: str, *, since: datetime | None = None
) -> list[ParkedMessage]:
    """Every message parked from `topic` (at or after `since`), in partition and offset order."""
    partitions = await _partitions_of(options, dead_letter_topic(topic))
    if not partitions:
        return []
    consumer = AIOKafkaConsumer(**options, group_id=None, enable_auto_commit=False)
    await consumer.start()
    try:
        consumer.assign(partitions)
        await _seek(consumer, partitions, since)
        records = await _read_to_end(consumer, partitions)
    finally:
        await consumer.stop()
    return [parked(record, topic=topic) for record in records]


async def _partitions_of(options: dict[str, Any], topic: str) -> list[TopicPartition]:
    """The topic's partitions; none if it does not exist (asking for it by name may create it)."""
    admin = AIOKafkaAdminClient(**options)
    await admin.start()
    try:
        if topic not in await admin.list_topics():
            return []
        (described,) = await admin.describe_topics([topic])
    finally:
        await admin.close()
    return sorted(TopicPartition(topic, p["partition"]) for p in described["partitions"])


async def _seek(consumer: Any, partitions: list[TopicPartition], since: datetime | None) -> None:
    if since is None:
        await consumer.seek_to_beginning(*partitions)
        return
    found = await consumer.offsets_for_times({p: int(since.timestamp() * 1000) for p in partitions})
    ends = await consumer.end_offsets(partitions)
    for partition in partitions:
        at = found.get(partition)
        consumer.seek(partition, at.offset if at is not None else ends[partition])


async def _read_to_end(consumer: Any, partitions: list[TopicPartition]) -> list[Any]:
    ends = await consumer.end_offsets(partitions)
    records: list[Any] = []
    deadline = time.monotonic() + READ_TIMEOUT_SECONDS
    while any([await consumer.position(p) < ends[p] for p in partitions]):
        if time.monotonic() > deadline:
            raise TimeoutError(f"could not read the dead letters within {READ_TIMEOUT_SECONDS}s")
        for part in (await consumer.getmany(timeout_ms=1000)).values():
            records.extend(r for r in part if r.offset < ends[TopicPartition(r.topic, r.partition)])
    return sorted(records, key=lambda r: (r.partition, r.offset))


async def replay(
    options: dict[str, Any], topic: str, messages: Sequence[ParkedMessage], *, clock: Clock
) -> list[Any]:
    """Publish the messages to the topics they were parked from; returns where each went."""
    producer = AIOKafkaProducer(
        **options, client_id="dead-letter-replay", enable_idempotence=True, acks="all"
    )
    await producer.start()
    try:
        now, dead_letters = clock.now(), dead_letter_topic(topic)
        sent = [
            await producer.send(
                message.original_topic,
                value=message.value,
                key=message.key.encode() if message.key is not None else None,
                headers=replay_headers(message, dead_letters=dead_letters, now=now),
            )
            for message in messages
        ]
        return [await delivery for delivery in sent]
    finally:
        await producer.stop()
