"""The router's Kafka subscriber on `incidents`: reported -> place, resolved -> release.

One message, one transaction: inbox claim, routing, state, outbox. Other facts are ignored.
"""

from collections.abc import Sequence
from datetime import datetime

from incident_events import Event, EventData, Topic, follow_up, new_event
from incident_events.incidents import IncidentReported, IncidentResolved
from incident_kit.consumer import subscribe
from incident_kit.inbox import claim_event
from incident_kit.outbox import add_events
from incident_kit.service import Runtime
from sqlalchemy.ext.asyncio import AsyncSession

from router import domain, placement, repository
from router.config import RouterSettings
from router.metrics import RouterMetrics
from router.tables import inbox, outbox

SOURCE = "/router"
CONSUMER = "router"


def to_incident(reported: IncidentReported) -> domain.Incident:
    return domain.Incident(
        incident_id=reported.incident_id,
        severity=reported.severity,
        language=domain.normalize_language(reported.language),
        required_skills=domain.normalize_skills(reported.required_skills),
    )


def envelopes(
    cause: Event[EventData], facts: Sequence[EventData], *, now: datetime
) -> list[Event[EventData]]:
    """Facts about the cause's incident continue its flow; facts about queued ones start theirs."""
    return [
        follow_up(cause, fact, source=SOURCE, now=now)
        if fact.incident_id == cause.subject
        else new_event(fact, source=SOURCE, now=now, causation_id=str(cause.id))
        for fact in facts
    ]


def register_handlers(runtime: Runtime, settings: RouterSettings, metrics: RouterMetrics) -> None:
    async def route(session: AsyncSession, event: Event[EventData]) -> list[EventData]:
        now = runtime.clock.now()
        match event.data:
            case IncidentReported() as reported:
                known = await repository.get_assignment(session, incident_id=event.subject)
                if known is not None:
                    return []  # re-reported under a new event id: routed already
                return [await placement.place(session, incident=to_incident(reported), now=now)]
            case IncidentResolved():
                return await placement.release(
                    session,
                    incident_id=event.subject,
                    now=now,
                    queue_scan_limit=settings.queue_scan_limit,
                )
            case _:
                return []  # a fact about the incident the router does not act on

    async def on_incident_event(event: Event[EventData]) -> None:
        if not isinstance(event.data, IncidentReported | IncidentResolved):
            return
        async with runtime.sessions.begin() as session:
            claimed = await claim_event(
                session, inbox, consumer=CONSUMER, event_id=event.id, event_type=event.type
            )
            if not claimed:
                return  # redelivery: no second effect
            facts = await route(session, event)
            await add_events(session, outbox, envelopes(event, facts, now=runtime.clock.now()))
            depth = await repository.queue_depth(session)
        metrics.record(facts, queue_depth=depth)

    subscribe(
        runtime,
        Topic.INCIDENTS,
        on_incident_event,
        description="Assigns reported incidents to agents or queues them; frees agents on "
        "resolution and gives them the most urgent queued incident they qualify for.",
    )
