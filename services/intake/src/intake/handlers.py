"""Intake's Kafka subscriber: assignments from the router set the incident's assignee (and go
into its timeline)."""

from incident_events import EventData, Topic
from incident_events.routing import IncidentAssigned
from incident_kit.consumer import Received, subscribe
from incident_kit.errors import PoisonMessage
from incident_kit.service import Runtime

from intake import domain, repository
from intake.metrics import IntakeMetrics


def register_handlers(runtime: Runtime, metrics: IntakeMetrics) -> None:
    async def on_assignment_event(received: Received) -> None:
        match received.event.data:
            case IncidentAssigned() as assigned:
                facts = await record_assignment(received, assigned)
                # Counted once committed: a batch rolled back and retried is not counted twice.
                received.after_commit(lambda: metrics.record_facts(facts))
            case _:
                return  # offers, declines and queueing do not change the incident here

    subscribe(
        runtime,
        Topic.ASSIGNMENTS,
        on_assignment_event,
        acts_on=[IncidentAssigned],
        description="Sets the assignee of an incident when the router assigns it.",
    )


async def record_assignment(received: Received, assigned: IncidentAssigned) -> list[EventData]:
    session = received.session
    incident = await repository.lock_incident(session, incident_id=assigned.incident_id)
    if incident is None:
        # Intake commits an incident before the router can hear of it: this never will be.
        raise PoisonMessage(f"unknown incident {assigned.incident_id!r}")
    outcome = domain.assign(incident, assigned, now=received.now)
    await repository.record_change(
        session, saving=outcome.incident, facts=outcome.timeline_facts, now=received.now
    )
    await received.emit(outcome.events)
    return outcome.events
