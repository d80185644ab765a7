"""Publishing one claimed batch of outbox rows, and what a row's failure to go out means.

Every row is handed to the producer in id order and the acknowledgements are awaited together,
one round trip for the batch. What the broker acknowledged counts as published, whatever failed
around it, so it is never sent again. A failure is then either

- the row's own, for good (`UNPUBLISHABLE`: too large, an invalid or forbidden topic, a payload
  that is not JSON): the row is quarantined, and the later rows of its incident are not sent in
  this round (the relay holds them behind it from the next round on); or
- anything else (broker unavailable, timeouts, the producer's state): the row waits for the next
  round, and so do the later rows of its incident, so none overtakes it.

The broker rejects a whole record batch for one bad record, so the rows that failed in the
batched send are sent again one at a time, which tells the culprit from its neighbours.

A limit: a later row of the same incident on another topic can be acknowledged in the same round
before an earlier row turns out to be rejected by the broker. Within one topic it cannot: the
idempotent producer's later batches to that partition fail with the rejected one.
"""

import asyncio
import json
import logging
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from aiokafka.errors import (
    InvalidTopicError,
    MessageSizeTooLargeError,
    RecordTooLargeError,
    TopicAuthorizationFailedError,
)
from aiokafka.partitioner import DefaultPartitioner
from aiokafka.structs import TopicPartition

log = logging.getLogger(__name__)
HEADERS = [("content-type", b"application/cloudevents+json")]
# Kafka's own rule for topic names (org.apache.kafka.common.internals.Topic).
LEGAL_TOPIC = re.compile(r"[a-zA-Z0-9._-]{1,249}")


class UnpublishablePayload(ValueError):
    """The row's payload is not a JSON object in UTF-8: no consumer could read it."""


# Errors that are the row's own and that retrying cannot cure. A producer's state (such as
# OutOfOrderSequenceNumber) or an unavailable broker is never one: that would quarantine rows
# that are fine.
UNPUBLISHABLE = (
    MessageSizeTooLargeError,
    RecordTooLargeError,
    InvalidTopicError,
    TopicAuthorizationFailedError,
    UnpublishablePayload,
)


def is_unpublishable(error: BaseException) -> bool:
    return isinstance(error, UNPUBLISHABLE)


@dataclass(frozen=True)
class OutboxRow:
    id: int
    topic: str  # as stored, without the environment's topic prefix
    key: str
    value: bytes
    created_at: datetime


@dataclass
class Publication:
    """What became of a batch: acknowledged, quarantined, and why the rest waits, if it does."""

    claimed: int = 0
    published: list[OutboxRow] = field(default_factory=list)
    quarantined: list[tuple[OutboxRow, BaseException]] = field(default_factory=list)
    retry_because: BaseException | None = None


@dataclass(frozen=True)
class _Sent:
    row: OutboxRow
    partition: TopicPartition
    delivery: "asyncio.Future[Any]"


def check_payload(value: bytes) -> None:
    try:
        document = json.loads(value)
    except ValueError as error:  # UnicodeDecodeError and JSONDecodeError are ValueErrors
        raise UnpublishablePayload(f"payload is not JSON in UTF-8: {error}") from error
    if not isinstance(document, dict):
        raise UnpublishablePayload("payload is not a JSON object")


def check_topic(topic: str) -> None:
    # Asking the broker about an illegal name only times out, again at every round.
    if not LEGAL_TOPIC.fullmatch(topic) or topic in {".", ".."}:
        raise InvalidTopicError(f"{topic!r} is not a legal Kafka topic name")


class _PartitionSequences:
    """The idempotent producer's record numbers per partition, rewound after a rejection.

    aiokafka does not rewind a partition's numbering when the broker rejects a batch (the Java
    client does), so every later send to that partition would fail with OutOfOrderSequenceNumber
    (aio-libs/aiokafka#1017). Only the relay sends to the outbox's topics, and it rewinds only
    once all its sends to the partition are settled: then the number the broker expects next is
    the one before plus what the broker took.
    """

    def __init__(self, producer: Any) -> None:
        manager = getattr(producer, "_txn_manager", None)  # None: not idempotent
        if manager is not None and not hasattr(manager, "increment_sequence_number"):
            # tests/integration/kit/test_outbox_quarantine.py shows what then goes wrong.
            log.warning("this aiokafka cannot be rewound after a rejected batch")
            manager = None
        self._manager = manager

    def current(self, partition: TopicPartition) -> int:
        return 0 if self._manager is None else int(self._manager.sequence_number(partition))

    def rewind(self, partition: TopicPartition, to: int) -> None:
        if self._manager is not None:
            self._manager.increment_sequence_number(partition, to - self.current(partition))


class BatchPublisher:
    """Publishes claimed outbox rows with the relay's producer; see the module docstring."""

    def __init__(self, producer: Any, *, topic_prefix: str) -> None:
        self._producer = producer
        self._prefix = topic_prefix
        self._sequences = _PartitionSequences(producer)
        self._choose = DefaultPartitioner()
        self._partitions: dict[str, list[int]] = {}

    async def publish(self, rows: Sequence[OutboxRow]) -> Publication:
        outcome = Publication(claimed=len(rows))
        self._partitions = {}  # asked again for each batch: a topic may have grown
        blocked: set[str] = set()  # incidents whose later rows must not go out in this round
        numbered: dict[TopicPartition, int] = {}
        sent = await self._hand_off(rows, outcome, blocked, numbered)
        failed = await self._settle(sent, outcome, numbered)
        await self._send_one_by_one(failed, outcome, blocked)
        return outcome

    async def _hand_off(
        self,
        rows: Sequence[OutboxRow],
        outcome: Publication,
        blocked: set[str],
        numbered: dict[TopicPartition, int],
    ) -> list[_Sent]:
        """Give every row to the producer in order, without waiting for acknowledgements."""
        sent: list[_Sent] = []
        for row in rows:
            if row.key in blocked:
                continue
            try:
                partition = await self._place(row)
                numbered.setdefault(partition, self._sequences.current(partition))
                delivery = await self._send(row, partition)
            except Exception as error:
                if not is_unpublishable(error):
                    outcome.retry_because = error  # the broker is likely out of reach: stop here
                    break
                outcome.quarantined.append((row, error))
                blocked.add(row.key)
                continue
            sent.append(_Sent(row, partition, delivery))
        return sent

    async def _settle(
        self, sent: list[_Sent], outcome: Publication, numbered: dict[TopicPartition, int]
    ) -> list[_Sent]:
        """Wait for every acknowledgement; returns the rows that failed, in order."""
        results = await asyncio.gather(*(s.delivery for s in sent), return_exceptions=True)
        taken: Counter[TopicPartition] = Counter()
        failed: list[_Sent] = []
        for each, result in zip(sent, results, strict=True):
            if isinstance(result, BaseException):
                failed.append(each)
            else:
                outcome.published.append(each.row)
                taken[each.partition] += 1
        for partition in {each.partition for each in failed}:
            self._sequences.rewind(partition, numbered[partition] + taken[partition])
        return failed

    async def _send_one_by_one(
        self, failed: list[_Sent], outcome: Publication, blocked: set[str]
    ) -> None:
        """Send the failed rows again, each alone, so each failure is the row's own."""
        for each in failed:
            if each.row.key in blocked:
                continue
            before = self._sequences.current(each.partition)
            try:
                await (await self._send(each.row, each.partition))
            except Exception as error:
                self._sequences.rewind(each.partition, before)
                blocked.add(each.row.key)
                if not is_unpublishable(error):
                    outcome.retry_because = error  # leave this and the rest to the next round
                    return
                outcome.quarantined.append((each.row, error))
                continue
            outcome.published.append(each.row)

    async def _place(self, row: OutboxRow) -> TopicPartition:
        """Check the row, and choose its partition as the producer's default partitioner would:
        chosen here, so that the relay knows which partition each failure concerns."""
        check_payload(row.value)
        topic = self._prefix + row.topic
        check_topic(topic)
        partitions = self._partitions.get(topic)
        if partitions is None:
            partitions = self._partitions[topic] = sorted(
                await self._producer.partitions_for(topic)
            )
        return TopicPartition(topic, self._choose(row.key.encode(), partitions, partitions))

    async def _send(self, row: OutboxRow, partition: TopicPartition) -> "asyncio.Future[Any]":
        delivery: asyncio.Future[Any] = await self._producer.send(
            partition.topic,
            value=row.value,
            key=row.key.encode(),
            partition=partition.partition,
            headers=HEADERS,
        )
        return delivery
