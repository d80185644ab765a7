"""Event builders, predicates and the app's own (prefixed) topics, shared by the sla
integration tests."""

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from uuid import uuid4

import harness
from incident_events import Event, EventData, new_event
from incident_events.incidents import (
    CustomerRef,
    IncidentCommented,
    IncidentReported,
    IncidentResolved,
)
from incident_events.types import Channel, CustomerTier, Severity, SlaMetric, Visibility
from sla.config import SlaSettings

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
AUTH = {"Authorization": "Bearer k"}
KIND = "outage"


def policy_body(**changes: Any) -> dict[str, Any]:
    return {
        "name": "Premium outages",
        "priority": 10,
        "match": {"tiers": ["premium"], "kinds": [KIND]},
        "targets": {"first_response": "PT1H", "resolution": "PT8H"},
        "warn_at_percent": [75],
        "calendar": "24x7",
    } | changes


def reported(incident_id: str, *, at: datetime = T0) -> Event[IncidentReported]:
    data = IncidentReported(
        incident_id=incident_id,
        reference="INC-000001",
        title="Checkout is down",
        severity=Severity.HIGH,
        kind=KIND,
        channel=Channel.API,
        reported_at=at,
        customer=CustomerRef(customer_id="cust-1", tier=CustomerTier.PREMIUM),
    )
    return new_event(data, source="/intake", now=at)


def first_reply(incident_id: str, *, at: datetime) -> Event[IncidentCommented]:
    data = IncidentCommented(
        incident_id=incident_id,
        comment_id=str(uuid4()),
        author_kind="agent",
        author_id="agent-1",
        visibility=Visibility.PUBLIC,
        body="We are on it.",
        first_agent_reply=True,
        commented_at=at,
    )
    return new_event(data, source="/intake", now=at)


def resolved(incident_id: str, *, at: datetime) -> Event[IncidentResolved]:
    return new_event(
        IncidentResolved(incident_id=incident_id, resolved_at=at), source="/intake", now=at
    )


async def publish(settings: SlaSettings, event: Event[Any]) -> None:
    """Publish the event to its topic under the app's prefix, keyed by its incident."""
    await harness.publish_event(
        settings.kafka_bootstrap_servers, event, prefix=settings.kafka_topic_prefix
    )


def sla_reader(settings: SlaSettings) -> harness.EventReader:
    """A reader of the app's own `sla` topic, from its start."""
    topic = f"{settings.kafka_topic_prefix}sla"
    return harness.EventReader(settings.kafka_bootstrap_servers, [topic])


def sla_fact(
    incident_id: str, fact: type[EventData], metric: SlaMetric | None = None
) -> Callable[[Event[EventData]], bool]:
    """A predicate for one sla fact about one incident (and one metric, when given)."""

    def matches(event: Event[EventData]) -> bool:
        return (
            event.subject == incident_id
            and isinstance(event.data, fact)
            and (metric is None or getattr(event.data, "metric", None) == metric)
        )

    return matches


async def wait_for_all(
    reader: harness.EventReader, *predicates: Callable[[Event[EventData]], bool]
) -> list[Event[EventData]]:
    """One event for each predicate, in the predicates' order.

    Waits for them together: EventReader.wait_for returns at the first match and leaves the
    rest of that fetched batch unread, so a second wait could miss an event of the same batch.
    """
    found: dict[int, Event[EventData]] = {}

    def all_found(event: Event[EventData]) -> bool:
        for index, predicate in enumerate(predicates):
            if index not in found and predicate(event):
                found[index] = event
        return len(found) == len(predicates)

    await reader.wait_for(all_found)
    return [found[index] for index in range(len(predicates))]
