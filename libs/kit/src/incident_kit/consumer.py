"""Subscribing a service's handler to a topic: typed events, log context, metrics, manual commit.

The handler receives a parsed, typed event; a message that does not parse never reaches it
(the dead-letter middleware parks it). Offsets are committed only after the handler succeeds.
"""

from collections.abc import Awaitable, Callable

from faststream.middlewares import AckPolicy
from incident_events import CloudEvent, Event, EventData, Topic, parse_envelope

from incident_kit.logs import bind_context, clear_context, trace_id_of
from incident_kit.service import Runtime

EventHandler = Callable[[Event[EventData]], Awaitable[None]]


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
    )
    async def on_event(message: CloudEvent) -> None:
        clear_context()
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
