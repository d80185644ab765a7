"""The router's Kafka subscriber on `incidents`: reported -> place, resolved -> release."""

from functools import partial

from incident_events import EventData, Topic
from incident_events.incidents import IncidentReported, IncidentResolved
from incident_events.routing import AssignmentQueued
from incident_kit.consumer import Received, subscribe
from incident_kit.service import Runtime

from router import domain, placement
from router.metrics import RouterMetrics
from router.queue_depth import QueueDepth


def to_incident(reported: IncidentReported) -> domain.Incident:
    return domain.Incident(
        incident_id=reported.incident_id,
        severity=reported.severity,
        language=domain.normalize_language(reported.language),
        required_skills=domain.normalize_skills(reported.required_skills),
    )


def register_handlers(runtime: Runtime, metrics: RouterMetrics, queue: QueueDepth) -> None:
    async def on_incident_event(received: Received) -> None:
        match received.event.data:
            case IncidentReported() as reported:
                facts = await place(received, reported)
            case IncidentResolved():
                facts = await release(received)
            case _:
                return  # a fact about the incident the router does not act on
        await received.emit(facts)
        received.after_commit(partial(metrics.record, facts))
        if isinstance(received.event.data, IncidentResolved) or any(
            isinstance(fact, AssignmentQueued) for fact in facts
        ):
            received.after_commit(queue.changed)  # counted soon, and at most once a second

    subscribe(
        runtime,
        Topic.INCIDENTS,
        on_incident_event,
        acts_on=[IncidentReported, IncidentResolved],
        description="Assigns reported incidents to agents or queues them; frees agents on "
        "resolution and gives them the most urgent queued incident they qualify for.",
    )


async def place(received: Received, reported: IncidentReported) -> list[EventData]:
    incident = to_incident(reported)
    # None: re-reported under a new event id, routed already.
    fact = await placement.place_reported(received.session, incident=incident, now=received.now)
    return [] if fact is None else [fact]


async def release(received: Received) -> list[EventData]:
    return await placement.release(
        received.session, incident_id=received.event.subject, now=received.now
    )
