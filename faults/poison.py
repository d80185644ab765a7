"""Poison messages on the services' topics: bytes that are no JSON, a CloudEvent of a type no
version knows, and a well-formed event about an incident nobody reported.

Each carries a `faults-poison` header (dead letters keep the original headers), so the checks
tell the poison injected from a dead letter the load caused. The first two kinds can never be
processed: every consumer group of the topic must park them on `<topic>.dlq`. What a service
does with an unknown incident is its own rule (intake parks the assignment, sla keeps it in case
the report comes later), so those are counted as poison wherever they land, never expected.
"""

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from uuid import uuid4

from aiokafka import AIOKafkaProducer
from incident_events import EventData, Topic, new_event
from incident_events.incidents import IncidentResolved
from incident_events.routing import IncidentAssigned
from incident_events.sla import SlaBreached
from incident_events.types import SlaMetric

MARKER_HEADER = "faults-poison"
# The consumer groups of each topic (the `subscribe` calls in services/*/handlers.py).
CONSUMER_GROUPS: dict[str, tuple[str, ...]] = {
    Topic.INCIDENTS: ("router", "sla", "notifier"),
    Topic.ASSIGNMENTS: ("intake", "sla"),
    Topic.SLA: ("notifier",),
}
NEVER_PROCESSABLE = ("garbage", "unknown-type")


@dataclass(frozen=True)
class Poison:
    marker: str  # the header's value: `<run>/<topic>/<kind>`
    topic: str
    kind: str  # garbage, unknown-type or unknown-incident

    @property
    def must_park_in(self) -> tuple[str, ...]:
        return CONSUMER_GROUPS[self.topic] if self.kind in NEVER_PROCESSABLE else ()


async def publish_poison(bootstrap_servers: str, *, run: str) -> list[Poison]:
    """Publish every kind of poison to every consumed topic; returns what was sent."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap_servers, acks="all")
    await producer.start()
    sent: list[Poison] = []
    try:
        for topic in CONSUMER_GROUPS:
            for kind, value in _poison_values(topic).items():
                poison = Poison(f"{run}/{topic}/{kind}", topic, kind)
                await producer.send_and_wait(
                    topic,
                    value=value,
                    key=f"faults-poison-{uuid4().hex[:12]}".encode(),
                    headers=[(MARKER_HEADER, poison.marker.encode())],
                )
                sent.append(poison)
    finally:
        await producer.stop()
    return sent


def _poison_values(topic: str) -> dict[str, bytes]:
    now = datetime.now(UTC)
    unknown_type = {
        "specversion": "1.0",
        "id": str(uuid4()),
        "source": "/faults",
        "type": "incident.exploded.v9",
        "time": now.isoformat(),
        "subject": "faults-unknown",
        "datacontenttype": "application/json",
        "data": {"incident_id": "faults-unknown"},
    }
    return {
        "garbage": b"\xff\xfe not an event {",
        "unknown-type": json.dumps(unknown_type).encode(),
        "unknown-incident": _about_unknown_incident(topic, now),
    }


def _about_unknown_incident(topic: str, now: datetime) -> bytes:
    incident_id = f"faults-unknown-{uuid4().hex[:12]}"
    data: EventData
    if topic == Topic.INCIDENTS:
        data = IncidentResolved(incident_id=incident_id, resolved_at=now)
    elif topic == Topic.ASSIGNMENTS:
        data = IncidentAssigned(
            incident_id=incident_id, agent_id="nobody", reason="fault suite", assigned_at=now
        )
    else:
        data = SlaBreached(
            incident_id=incident_id,
            clock_id=f"clock-{incident_id}",
            metric=SlaMetric.FIRST_RESPONSE,
            policy_id="faults",
            due_at=now,
            breached_at=now,
        )
    return new_event(data, source="/faults", now=now).to_json()
