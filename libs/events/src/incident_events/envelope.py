"""The CloudEvents 1.0 envelope (structured JSON mode), the payload base class and parsing.

Every payload class names its CloudEvents `type` and its topic; defining the class registers
it, so `parse_event` can turn any message on any topic into the right typed model.
"""

import functools
import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any, ClassVar, Generic, Literal, TypeVar
from uuid import UUID, uuid4

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from incident_events.topics import Topic
from incident_events.types import UtcDatetime

CONTENT_TYPE = "application/cloudevents+json"
_REGISTRY: dict[str, type["EventData"]] = {}


class EventData(BaseModel):
    """Base of every event payload: a fact about one incident, immutable once emitted."""

    # Unknown fields are ignored so producers can add fields without breaking consumers.
    model_config = ConfigDict(frozen=True, extra="ignore")

    event_type: ClassVar[str]
    topic: ClassVar[Topic]

    incident_id: str = Field(min_length=1, max_length=64)

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        event_type = cls.__dict__.get("event_type")
        if event_type is None:
            return
        if event_type in _REGISTRY:
            raise TypeError(f"event type {event_type!r} registered twice")
        _REGISTRY[event_type] = cls


D = TypeVar("D", bound=EventData)


class CloudEvent(BaseModel):
    """The envelope attributes shared by every message, with the payload left untyped."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    specversion: Literal["1.0"] = "1.0"
    id: UUID
    source: str = Field(min_length=1)
    type: str = Field(min_length=1)
    time: UtcDatetime
    subject: str = Field(min_length=1, description="The incident id; also the Kafka key.")
    datacontenttype: Literal["application/json"] = "application/json"
    correlationid: str | None = None
    causationid: str | None = None
    traceparent: str | None = None
    data: dict[str, Any]


class Event(CloudEvent, Generic[D]):
    """An envelope whose payload is parsed into its typed model."""

    data: D  # type: ignore[assignment]

    def to_json(self) -> bytes:
        return self.model_dump_json().encode()


class EventParseError(ValueError):
    """A message that is not a known, valid event; the text says precisely what is wrong."""


def registered_types() -> Mapping[str, type[EventData]]:
    """Every event type this library knows, by CloudEvents `type`."""
    return dict(_REGISTRY)


@functools.cache
def event_class_of(data_class: type[D]) -> type[Event[D]]:
    """The envelope class typed for one payload class; built once (parametrizing is slow)."""
    return Event[data_class]  # type: ignore[valid-type]


def new_event(
    data: D,
    *,
    source: str,
    now: datetime,
    correlation_id: str | None = None,
    causation_id: str | None = None,
    traceparent: str | None = None,
    event_id: UUID | None = None,
) -> Event[D]:
    """Wrap a payload in an envelope; the subject is always the incident id."""
    return event_class_of(type(data))(
        id=event_id or uuid4(),
        source=source,
        type=data.event_type,
        time=now,
        subject=data.incident_id,
        correlationid=correlation_id,
        causationid=causation_id,
        traceparent=traceparent,
        data=data,
    )


def follow_up(cause: CloudEvent, data: D, *, source: str, now: datetime) -> Event[D]:
    """An event caused by `cause`: it keeps the correlation id and trace of the cause."""
    return new_event(
        data,
        source=source,
        now=now,
        correlation_id=cause.correlationid or str(cause.id),
        causation_id=str(cause.id),
        traceparent=cause.traceparent,
    )


def parse_event(raw: bytes | str | Mapping[str, Any]) -> Event[EventData]:
    """Parse one message into its typed event, or raise EventParseError naming the problem."""
    document = _load_json(raw)
    try:
        envelope = CloudEvent.model_validate(document)
    except ValidationError as error:
        raise EventParseError(f"invalid CloudEvents envelope: {_describe(error)}") from error
    return parse_envelope(envelope)


def parse_envelope(envelope: CloudEvent) -> Event[EventData]:
    """Type the payload of an already validated envelope, or raise EventParseError."""
    data_class = _REGISTRY.get(envelope.type)
    if data_class is None:
        raise EventParseError(f"unknown event type {envelope.type!r}")
    try:
        data = data_class.model_validate(envelope.data)
    except ValidationError as error:
        raise EventParseError(f"invalid data of {envelope.type}: {_describe(error)}") from error
    if data.incident_id != envelope.subject:
        raise EventParseError("subject does not match data.incident_id")
    return Event[EventData].model_construct(**{**envelope.__dict__, "data": data})


def _load_json(raw: bytes | str | Mapping[str, Any]) -> Any:
    if isinstance(raw, Mapping):
        return raw
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError) as error:
        raise EventParseError(f"message is not JSON: {error}") from error


def _describe(error: ValidationError) -> str:
    return "; ".join(
        f"{'.'.join(str(part) for part in item['loc']) or '(root)'}: {item['msg']}"
        for item in error.errors()
    )
