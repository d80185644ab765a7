"""Intake's Kafka subscriber: assignments from the router set the incident's assignee (and go
into its timeline)."""

from incident_events import Topic
from incident_events.routing import IncidentAssigned
from incident_kit.consumer import Received, subscribe
from incident_kit.errors import PoisonMessage
from incident_kit.service import Runtime

from intake import domain, repository


def register_handlers(runtime: Runtime) -> None:
    subscribe(
        runtime,
        Topic.ASSIGNMENTS,
        on_assignment_event,
        acts_on=[IncidentAssigned],
        description="Sets the assignee of an incident when the router assigns it.",
    )


async def on_assignment_event(received: Received) -> None:
    match received.event.data:
        case IncidentAssigned() as assigned:
            await record_assignment(received, assigned)
        case _:
            return  # offers, declines and queueing do not change the incident here


async def record_assignment(received: Received, assigned: IncidentAssigned) -> None:
    session = received.session
    incident = await repository.lock_incident(session, incident_id=assigned.incident_id)
    if incident is None:
        # Intake commits an incident before the router can hear of it: this never will be.
        raise PoisonMessage(f"unknown incident {assigned.incident_id!r}")
    outcome = domain.assign(incident, assigned, now=received.now)
    await repository.save_incident(session, incident=outcome.incident)
    await repository.add_to_timeline(session, facts=outcome.timeline_facts, now=received.now)
    await received.emit(outcome.events)
