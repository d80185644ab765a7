"""Bounded retries and the dead-letter topic for every Kafka subscriber.

A message that cannot be parsed is dead-lettered at once; one whose handler keeps failing is
retried a few times in place (keeping the partition's order) and then dead-lettered. Either way
the consumer goes on with the next message.
"""

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from faststream import BaseMiddleware
from faststream.message import StreamMessage
from incident_events import EventParseError, dead_letter_topic
from pydantic import ValidationError

from incident_kit.logs import clear_context
from incident_kit.metrics import ServiceMetrics

log = logging.getLogger(__name__)

PublishDeadLetter = Callable[[bytes, str, bytes | None, dict[str, str]], Awaitable[None]]


class PoisonMessage(Exception):
    """Raised by a handler for a message that can never succeed (e.g. an unknown version)."""


POISON = (EventParseError, ValidationError, PoisonMessage, UnicodeDecodeError)


def dead_letter_middleware(
    *,
    retries: int,
    metrics: ServiceMetrics,
    publish_dead_letter: PublishDeadLetter,
    backoff_seconds: float = 0.2,
) -> Callable[..., BaseMiddleware]:
    """A FastStream middleware class bound to this service's retry policy and publisher."""

    class DeadLetterMiddleware(BaseMiddleware):
        async def consume_scope(
            self, call_next: Callable[[StreamMessage[Any]], Awaitable[Any]], msg: StreamMessage[Any]
        ) -> Any:
            clear_context()  # nothing of the previous message's context leaks into this one
            for attempt in range(1, retries + 2):
                try:
                    return await call_next(msg)
                except POISON as error:
                    await _dead_letter(msg, error, attempt)
                    return None
                except Exception as error:
                    if attempt > retries:
                        await _dead_letter(msg, error, attempt)
                        return None
                    log.warning("handler failed, retrying", extra={"attempt": attempt})
                    # Backoff between in-place retries, so a briefly failing dependency recovers.
                    await asyncio.sleep(backoff_seconds * 2 ** (attempt - 1))
            return None

    async def _dead_letter(msg: StreamMessage[Any], error: BaseException, attempts: int) -> None:
        record = msg.raw_message
        topic = str(getattr(record, "topic", "unknown"))
        reason = f"{type(error).__name__}: {error}"[:2000]
        headers = {
            **{k: str(v) for k, v in (msg.headers or {}).items()},
            "dlq-reason": reason,
            "dlq-original-topic": topic,
            "dlq-original-partition": str(getattr(record, "partition", "")),
            "dlq-original-offset": str(getattr(record, "offset", "")),
            "dlq-attempts": str(attempts),
        }
        key = getattr(record, "key", None)
        await publish_dead_letter(msg.body, dead_letter_topic(topic), key, headers)
        metrics.dead_letters.labels(topic=topic).inc()
        log.error("message dead-lettered: %s", reason)

    return DeadLetterMiddleware
