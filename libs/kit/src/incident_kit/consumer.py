"""Subscribing a service's handlers to its topics, batch-first, with one consumer for them all.

The subscriber takes what has arrived, up to `consumer_batch_size` records (batches grow with
the load: while one is applied the next accumulates), applies them in one transaction
(`incident_kit.batch`), parks the poison on the dead-letter topic, and only then commits the
offsets, once per batch, of the partitions it came from, while it goes on to the next batch; a
batch that changed nothing leaves them owed to a later commit (`incident_kit.offsets`). An idle
subscriber long-polls (`consumer_poll_ms`): records return as soon as they arrive, and an idle
service does not spin.

An infrastructure fault is waited out: the batch is retried with capped exponential backoff and
jitter for as long as it takes. Meanwhile the consumer's partitions are paused and it keeps
polling, so it stays in its group and is not rebalanced away. If the service stops meanwhile,
the batch is rewound uncommitted, for the next owner of the partitions.
"""

import asyncio
import logging
from collections.abc import Callable, Sequence
from typing import Any

from aiokafka import AIOKafkaConsumer
from faststream.kafka import KafkaMessage
from faststream.kafka import Topic as KafkaTopic
from faststream.kafka.subscriber.usecase import LogicSubscriber
from faststream.message import StreamMessage
from faststream.middlewares import AckPolicy
from incident_events import EventData, Topic

from incident_kit.batch import BatchApplier, EventHandler, Received
from incident_kit.dead_letter import DeadLetters
from incident_kit.errors import backoff_seconds
from incident_kit.offsets import UncommittedOffsets
from incident_kit.routes import Route, Routes, always
from incident_kit.service import Runtime
from incident_kit.settings import ServiceSettings

log = logging.getLogger(__name__)

__all__ = ["EventHandler", "Received", "Route", "subscribe", "subscribe_all"]


def subscribe(
    runtime: Runtime,
    topic: Topic,
    handle: EventHandler,
    *,
    acts_on: Sequence[type[EventData]],
    acts_if: Callable[[EventData], bool] = always,
    description: str,
) -> None:
    """Consume `topic` in this service's consumer group; `handle` sees the first delivery of
    each event whose payload is one of `acts_on` and passes `acts_if`, in offset order per
    partition. The others cost no transaction."""
    subscribe_all(runtime, [Route(topic, handle, tuple(acts_on), description, acts_if)])


def subscribe_all(runtime: Runtime, routes: Sequence[Route]) -> None:
    """Consume the routes' topics with one consumer in this service's consumer group: a batch
    holds what came on any of them, applied in one transaction with one offset commit, each
    event by its route's handler (`incident_kit.routes`)."""
    settings = runtime.settings
    prefix = settings.kafka_topic_prefix
    group = prefix + runtime.name
    routing = Routes(routes)
    applier = BatchApplier(
        consumer=runtime.name,
        handle=routing.handle,
        acts_on=routing.acts_on,
        sessions=runtime.sessions,
        inbox=runtime.inbox,
        outbox=runtime.outbox,
        clock=runtime.clock,
        metrics=runtime.metrics,
        source=f"/{runtime.name}",
        retries=settings.handler_retries,
        acts_if=routing.acts_if,
    )
    dead_letters = DeadLetters(runtime.producer, runtime.metrics, group)
    # Created with this many partitions when missing (FastStream's default is 1): the partitions
    # are what consumer-group members share, one member per partition at most.
    declared = [
        KafkaTopic(prefix + str(topic), num_partitions=settings.kafka_topic_partitions)
        for topic in routing.topics
    ]
    topics = ",".join(str(topic) for topic in routing.topics)
    subscriber = runtime.broker.subscriber(
        *declared,
        group_id=group,
        auto_offset_reset="earliest",
        batch=True,
        max_records=settings.consumer_batch_size,
        batch_timeout_ms=settings.consumer_poll_ms,
        ack_policy=AckPolicy.MANUAL,
        decoder=_undecoded,
        title=f"{runtime.name}:{topics}",
        description=routing.description,
    )
    offsets = UncommittedOffsets()
    _long_poll(subscriber, settings, offsets)
    for route in routing.routes:
        topic_name = str(route.topic)
        runtime.consumes[topic_name] = [*runtime.consumes.get(topic_name, []), *route.acts_on]

    @subscriber
    async def on_batch(body: Any) -> None:
        # The "body" is the message itself (`_undecoded`): asking FastStream for it by its
        # annotation instead resolves it in a worker thread, a thread hop per batch.
        message: KafkaMessage = body
        records: Any = message.raw_message
        batch = records if isinstance(records, tuple) else (records,)
        attempt = 0
        while True:
            try:
                applied = await applier.apply(batch)
                await dead_letters.park(applied.dead)
                break
            except Exception:
                attempt += 1
                if not subscriber.running:
                    await message.nack()  # stopping: leave the batch to the next owner
                    return
                delay = backoff_seconds(attempt, cap=settings.retry_max_backoff_seconds)
                log.warning(
                    "batch failed, retrying in %.2f s (attempt %d)", delay, attempt, exc_info=True
                )
                runtime.metrics.batch_retries.labels(topic=topics).inc()
                await _wait_polling(subscriber, delay)
        offsets.applied(batch)
        if not applied.changed and offsets.may_wait():
            return  # ignored events only: a later commit covers them
        # One offset commit for the whole batch, and any owed before it, made while the next
        # batch is fetched and applied.
        offsets.commit_behind(subscriber.consumer)
        if not subscriber.running:
            await offsets.settle()  # stopping: the consumer closes once this batch returns


async def _undecoded(message: StreamMessage[Any]) -> StreamMessage[Any]:
    """The batch as FastStream received it. FastStream's own decoder parses every record's
    JSON, which `incident_events.parse_event` parses again; and an async decoder, since
    FastStream runs a plain function in a worker thread."""
    return message


def _long_poll(
    subscriber: LogicSubscriber[Any], settings: ServiceSettings, offsets: UncommittedOffsets
) -> None:
    """FastStream's batch loop sleeps a whole timeout after an empty poll, so a short timeout
    spins an idle service and a long one delays the next message by up to that sleep. Poll
    long instead, with no sleep: aiokafka returns as soon as records are there. An empty poll
    commits the offsets owed by batches that changed nothing.

    With `consumer_gather_ms`, a batch that is not full waits that long once its first records
    are there, and takes what arrived meanwhile too (the consumer fetches in the background):
    an idle service still sleeps in its long poll, and a busy one applies larger batches."""
    max_records, poll_ms = settings.consumer_batch_size, settings.consumer_poll_ms
    gather_seconds = settings.consumer_gather_ms / 1000

    async def get_msg(consumer: AIOKafkaConsumer) -> tuple[Any, ...]:
        fetched = await consumer.getmany(timeout_ms=poll_ms, max_records=max_records)
        if not fetched:
            await offsets.commit_owed(consumer)
            return ()
        records = [record for batch in fetched.values() for record in batch]
        if gather_seconds and len(records) < max_records:
            await asyncio.sleep(gather_seconds)
            # Each partition's later records after its earlier ones: offset order holds.
            more = await consumer.getmany(timeout_ms=0, max_records=max_records - len(records))
            records += [record for batch in more.values() for record in batch]
        return tuple(records)

    subscriber.get_msg = get_msg  # type: ignore[method-assign]


async def _wait_polling(subscriber: LogicSubscriber[Any], seconds: float) -> None:
    """Wait while staying in the group: pause the partitions and keep polling."""
    consumer: AIOKafkaConsumer | None = subscriber.consumer
    if consumer is None:
        return
    partitions = consumer.assignment()
    consumer.pause(*partitions)
    try:
        fetched = await consumer.getmany(timeout_ms=int(seconds * 1000))
        # Paused partitions yield nothing; should any record come, rewind so none is skipped.
        for partition, records in fetched.items():
            consumer.seek(partition, records[0].offset)
    finally:
        consumer.resume(*(consumer.paused() & consumer.assignment()))
