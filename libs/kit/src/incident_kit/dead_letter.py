"""The dead-letter topic: where a message that can never be processed is parked, with why.

Each dead letter keeps the original value, key and headers and adds headers naming the
consumer group, the error class, a redacted reason and where the message came from. It is
published with the idempotent acks=all producer and awaited before the offset may move: a dead
letter that cannot be published makes the batch retry, it is never dropped.
"""

import logging
from dataclasses import dataclass

from aiokafka import AIOKafkaProducer
from aiokafka.structs import ConsumerRecord
from incident_events import dead_letter_topic

from incident_kit.errors import redacted_reason
from incident_kit.metrics import ServiceMetrics

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DeadLetter:
    record: ConsumerRecord[bytes, bytes]
    error: BaseException
    attempts: int

    def headers(self, group: str) -> list[tuple[str, bytes]]:
        record = self.record
        original = [(k, v) for k, v in (record.headers or ()) if not k.startswith("dlq-")]
        added = {
            "dlq-reason": redacted_reason(self.error),
            "dlq-error-class": type(self.error).__name__,
            "dlq-consumer-group": group,
            "dlq-original-topic": record.topic,
            "dlq-original-partition": str(record.partition),
            "dlq-original-offset": str(record.offset),
            "dlq-attempts": str(self.attempts),
        }
        return original + [(k, v.encode()) for k, v in added.items()]


class DeadLetters:
    """Parks messages on `<topic>.dlq` durably, for one consumer group."""

    def __init__(self, producer: AIOKafkaProducer, metrics: ServiceMetrics, group: str) -> None:
        self._producer, self._metrics, self._group = producer, metrics, group

    async def park(self, letters: list[DeadLetter]) -> None:
        """Publish every letter and wait for the broker's acknowledgement of each."""
        sent = [
            await self._producer.send(
                dead_letter_topic(letter.record.topic),
                value=letter.record.value,
                key=letter.record.key,
                headers=letter.headers(self._group),
            )
            for letter in letters
        ]
        for delivery in sent:
            await delivery
        for letter in letters:
            self._metrics.dead_letters.labels(topic=letter.record.topic).inc()
            log.error("message dead-lettered: %s", redacted_reason(letter.error))
