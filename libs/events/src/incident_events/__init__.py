"""The one shared event schema: CloudEvents envelope, typed payloads, topics and parsing."""

from incident_events.envelope import (
    CloudEvent,
    Event,
    EventData,
    EventParseError,
    follow_up,
    new_event,
    parse_envelope,
    parse_event,
    registered_types,
)
from incident_events.topics import Topic, dead_letter_topic

# Importing the payload modules registers every event type with parse_event.
from incident_events import incidents, notifications, routing, sla  # noqa: E402,F401  isort: skip

__all__ = [
    "CloudEvent",
    "Event",
    "EventData",
    "EventParseError",
    "follow_up",
    "Topic",
    "dead_letter_topic",
    "new_event",
    "parse_envelope",
    "parse_event",
    "registered_types",
]
