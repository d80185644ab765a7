"""How the relay publishes a claimed batch (incident_kit.publishing), against a fake producer
that behaves like aiokafka's idempotent one and a broker: records sent together to a partition
form one record batch, which the broker takes or rejects as a whole, and a record numbered out
of order is refused.

What the broker took is published even when rows around it fail; a row the broker will never
take is quarantined and its incident's later rows wait; anything else leaves the rows waiting.
"""

import asyncio
from collections import defaultdict
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from aiokafka.errors import (
    InvalidTopicError,
    KafkaTimeoutError,
    MessageSizeTooLargeError,
    NotEnoughReplicasError,
    OutOfOrderSequenceNumber,
)
from aiokafka.structs import TopicPartition
from incident_kit.publishing import BatchPublisher, OutboxRow, UnpublishablePayload

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
BROKER_LIMIT = 100  # bytes a record may have on the fake broker


class FakeSequences:
    """aiokafka's TransactionManager, as far as record numbering goes."""

    def __init__(self) -> None:
        self.numbers: dict[TopicPartition, int] = defaultdict(int)

    def sequence_number(self, partition: TopicPartition) -> int:
        return self.numbers[partition]

    def increment_sequence_number(self, partition: TopicPartition, increment: int) -> None:
        self.numbers[partition] += increment


class FakeProducer:
    def __init__(self, *, refuse: Callable[[bytes], Exception | None] = lambda _: None) -> None:
        self._txn_manager = FakeSequences()
        self._refuse = refuse  # an error raised by send() itself, before any numbering
        self._failing: Callable[[bytes], Exception | None] = lambda _: None
        self._pending: dict[TopicPartition, list[tuple[bytes, asyncio.Future[Any]]]] = {}
        self._expected: dict[TopicPartition, int] = defaultdict(int)
        self.log: list[bytes] = []  # what the broker took, in order

    def broker_fails(self, failing: Callable[[bytes], Exception | None]) -> None:
        self._failing = failing

    async def partitions_for(self, topic: str) -> set[int]:
        return {0}

    async def send(
        self, topic: str, *, value: bytes, key: bytes, partition: int, headers: Any
    ) -> "asyncio.Future[Any]":
        error = self._refuse(value)
        if error is not None:
            raise error
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        if not self._pending:
            asyncio.get_running_loop().call_soon(self._deliver)
        self._pending.setdefault(TopicPartition(topic, partition), []).append((value, future))
        return future

    def _deliver(self) -> None:
        """Send each partition's records as one numbered batch, as the sender task does."""
        batches, self._pending = self._pending, {}
        for partition, records in batches.items():
            first = self._txn_manager.numbers[partition]
            self._txn_manager.numbers[partition] += len(records)
            error = self._verdict(partition, first, [value for value, _ in records])
            for value, future in records:
                if error is None:
                    future.set_result(value)
                else:
                    future.set_exception(error)
            if error is None:
                self._expected[partition] += len(records)
                self.log.extend(value for value, _ in records)

    def _verdict(
        self, partition: TopicPartition, first: int, values: list[bytes]
    ) -> Exception | None:
        # aiokafka is untyped: its errors are Any to mypy.
        if first != self._expected[partition]:
            out_of_order: Exception = OutOfOrderSequenceNumber()
            return out_of_order
        if any(len(value) > BROKER_LIMIT for value in values):
            too_large: Exception = MessageSizeTooLargeError()
            return too_large
        return next((e for e in map(self._failing, values) if e is not None), None)


def row(
    number: int, incident: str, value: bytes | None = None, topic: str = "incidents"
) -> OutboxRow:
    payload = value if value is not None else b'{"n": %d}' % number
    return OutboxRow(number, topic, incident, payload, T0)


def big(number: int, incident: str) -> OutboxRow:
    return row(number, incident, b'{"reason": "%s"}' % (b"x" * BROKER_LIMIT))


async def test_a_batch_the_broker_takes_is_published_in_order() -> None:
    producer = FakeProducer()
    rows = [row(1, "a"), row(2, "b"), row(3, "a")]
    outcome = await BatchPublisher(producer, topic_prefix="env-").publish(rows)
    assert outcome.published == rows and outcome.quarantined == []
    assert outcome.retry_because is None and outcome.claimed == 3
    assert producer.log == [r.value for r in rows]


async def test_a_row_the_broker_rejects_is_quarantined_and_its_neighbours_go_out() -> None:
    producer = FakeProducer()
    rows = [row(1, "a"), big(2, "b"), row(3, "c"), row(4, "b"), row(5, "d")]
    outcome = await BatchPublisher(producer, topic_prefix="").publish(rows)

    # The broker rejected the whole batch; sent again one by one, only the big row fails.
    assert [r.id for r in outcome.published] == [1, 3, 5]
    assert [(r.id, type(e)) for r, e in outcome.quarantined] == [(2, MessageSizeTooLargeError)]
    assert outcome.retry_because is None  # row 4 waits behind row 2, not for the broker
    assert producer.log == [rows[0].value, rows[2].value, rows[4].value]
    # The producer's numbering was rewound to what the broker took: later sends go through.
    assert producer._txn_manager.numbers == producer._expected
    later = await BatchPublisher(producer, topic_prefix="").publish([row(6, "e")])
    assert [r.id for r in later.published] == [6]


async def test_a_row_the_producer_refuses_is_quarantined_before_anything_is_sent() -> None:
    def too_large(value: bytes) -> Exception | None:
        return MessageSizeTooLargeError("larger than max_request_size") if b"x" in value else None

    producer = FakeProducer(refuse=too_large)
    rows = [row(1, "a"), big(2, "b"), row(3, "b"), row(4, "c")]
    outcome = await BatchPublisher(producer, topic_prefix="").publish(rows)
    assert [r.id for r in outcome.published] == [1, 4]
    assert [r.id for r, _ in outcome.quarantined] == [2]
    assert producer.log == [rows[0].value, rows[3].value]  # row 3 of incident b was held back


@pytest.mark.parametrize(
    ("bad", "error"),
    [
        (row(2, "b", b"<html>not json</html>"), UnpublishablePayload),
        (row(2, "b", b'{"text": "\xff"}'), UnpublishablePayload),
        (row(2, "b", b"[1, 2]"), UnpublishablePayload),
        (row(2, "b", topic="no spaces allowed"), InvalidTopicError),
    ],
)
async def test_a_row_no_consumer_could_read_is_quarantined(
    bad: OutboxRow, error: type[Exception]
) -> None:
    producer = FakeProducer()
    outcome = await BatchPublisher(producer, topic_prefix="").publish(
        [row(1, "a"), bad, row(3, "b"), row(4, "c")]
    )
    assert [r.id for r in outcome.published] == [1, 4]
    assert [(r.id, type(e)) for r, e in outcome.quarantined] == [(2, error)]


async def test_a_broker_out_of_reach_leaves_the_rest_waiting_without_quarantine() -> None:
    def unreachable(value: bytes) -> Exception | None:
        return KafkaTimeoutError() if value == b'{"n": 2}' else None

    producer = FakeProducer(refuse=unreachable)
    outcome = await BatchPublisher(producer, topic_prefix="").publish(
        [row(1, "a"), row(2, "b"), row(3, "c")]
    )
    assert [r.id for r in outcome.published] == [1]
    assert outcome.quarantined == []
    assert isinstance(outcome.retry_because, KafkaTimeoutError)
    assert producer.log == [b'{"n": 1}']


async def test_a_retriable_rejection_keeps_the_incident_back_and_is_not_quarantined() -> None:
    producer = FakeProducer()
    producer.broker_fails(lambda v: NotEnoughReplicasError() if v == b'{"n": 2}' else None)
    rows = [row(1, "a"), row(2, "b"), row(3, "b"), row(4, "c")]
    outcome = await BatchPublisher(producer, topic_prefix="").publish(rows)
    # Row 1 went out again alone; row 2 failed again, so it and all after it wait.
    assert [r.id for r in outcome.published] == [1]
    assert outcome.quarantined == []
    assert isinstance(outcome.retry_because, NotEnoughReplicasError)
    assert producer.log == [b'{"n": 1}']
    assert producer._txn_manager.numbers == producer._expected
