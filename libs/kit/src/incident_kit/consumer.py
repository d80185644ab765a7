"""Subscribing a service's handler to a topic: typed events, log context, metrics, manual commit.

The handler receives a parsed, typed event; a message that does not parse never reaches it
(the dead-letter middleware parks it). Offsets are committed only after the handler succeeds.
"""

import json
from collections.abc import Awaitable, Callable
from typing import Any

from faststream.message import StreamMessage
from faststream.middlewares import AckPolicy
from incident_events import CloudEvent, Event, EventData, EventParseError, Topic, parse_envelope

from incident_kit.logs import bind_context, trace_id_of
from incident_kit.service import Runtime

EventHandler = Callable[[Event[EventData]], Awaitable[None]]


async def decode_json(message: StreamMessage[Any]) -> Any:
    """Decode every message body as JSON, whatever its content-type header says (CloudEvents
    structured mode uses application/cloudevents+json, which FastStream does not decode)."""
    try:
        return json.loads(message.body)
    except (ValueError, UnicodeDecodeError) as error:
        raise EventParseError(f"message is not JSON: {error}") from error


def subscribe(runtime: Runtime, topic: Topic, handle: EventHandler, *, description: str) -> None:
    """Consume `topic` in this service's consumer group, one message at a time, in order."""

    prefix = runtime.settings.kafka_topic_prefix

    @runtime.broker.subscriber(
        prefix + str(topic),
        group_id=prefix + runtime.name,
        auto_offset_reset="earliest",
        ack_policy=AckPolicy.ACK,
        title=f"{runtime.name}:{topic}",
        description=description,
        decoder=decode_json,
    )
    async def on_event(message: CloudEvent) -> None:
        bind_context(
            incident_id=message.subject,
            event_type=message.type,
            event_id=str(message.id),
            correlation_id=message.correlationid,
            trace_id=trace_id_of(message.traceparent),
        )
        event = parse_envelope(message)
        await handle(event)
        runtime.metrics.events_handled.labels(event.type, "handled").inc()
