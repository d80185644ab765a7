"""Intake's Kafka subscriber: assignments from the router set the incident's assignee.

One message, one transaction: inbox claim, load, domain, save, outbox.
"""

from incident_events import Event, EventData, Topic, follow_up
from incident_events.routing import IncidentAssigned
from incident_kit.consumer import subscribe
from incident_kit.dead_letter import PoisonMessage
from incident_kit.inbox import claim_event
from incident_kit.outbox import add_events
from incident_kit.service import Runtime

from intake import domain, repository
from intake.reporting import SOURCE
from intake.tables import inbox, outbox

CONSUMER = "intake"


def register_handlers(runtime: Runtime) -> None:
    async def on_assignment_event(event: Event[EventData]) -> None:
        match event.data:
            case IncidentAssigned() as assigned:
                await _record_assignment(runtime, event, assigned)
            case _:
                return  # offers, declines and queueing do not change the incident here

    subscribe(
        runtime,
        Topic.ASSIGNMENTS,
        on_assignment_event,
        description="Sets the assignee of an incident when the router assigns it.",
    )


async def _record_assignment(
    runtime: Runtime, event: Event[EventData], assigned: IncidentAssigned
) -> None:
    async with runtime.sessions.begin() as session:
        if not await claim_event(
            session, inbox, consumer=CONSUMER, event_id=event.id, event_type=event.type
        ):
            return  # redelivery: no second effect
        incident = await repository.lock_incident(session, incident_id=assigned.incident_id)
        if incident is None:
            # Intake commits an incident before the router can hear of it: this never will be.
            raise PoisonMessage(f"unknown incident {assigned.incident_id!r}")
        now = runtime.clock.now()
        outcome = domain.assign(incident, assigned, now=now)
        await repository.save_assignment(session, incident=outcome.incident)
        await add_events(
            session,
            outbox,
            [follow_up(event, fact, source=SOURCE, now=now) for fact in outcome.events],
        )
