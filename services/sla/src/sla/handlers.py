"""The Kafka consumer of the sla service: incident facts start and stop clocks, assignments record
the assignee. Each event is one `match` calling a plain function of the session and now."""

import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from functools import partial

from incident_events import Event, EventData, Topic
from incident_events.incidents import IncidentCommented, IncidentReported, IncidentResolved
from incident_events.routing import IncidentAssigned
from incident_events.types import SlaMetric, Visibility
from incident_kit.consumer import Received, Route, subscribe_all
from incident_kit.service import Runtime
from sqlalchemy.ext.asyncio import AsyncSession

from sla import domain, repository
from sla.calendars import calendar_named
from sla.metrics import SlaMetrics
from sla.policy_cache import PolicyCache

log = logging.getLogger(__name__)

Reaction = Callable[[AsyncSession, datetime], Awaitable[Sequence[EventData]]]


def register_handlers(runtime: Runtime, sla_metrics: SlaMetrics, policies: PolicyCache) -> None:
    async def on_event(received: Received) -> None:
        react = reaction_to(received.event, policies)
        if react is None:
            return  # a fact sla does not need
        facts = await react(received.session, received.now)
        await received.emit(facts)
        received.after_commit(partial(sla_metrics.count, facts))

    subscribe_all(
        runtime,
        [
            Route(
                Topic.INCIDENTS,
                on_event,
                (IncidentReported, IncidentCommented, IncidentResolved),
                "Reports start SLA clocks; first agent replies and resolutions stop them.",
            ),
            Route(
                Topic.ASSIGNMENTS,
                on_event,
                (IncidentAssigned,),
                "Assignments record who works on the incident.",
            ),
        ],
    )


def reaction_to(event: Event[EventData], policies: PolicyCache) -> Reaction | None:
    """What sla does about an event, or None when it does nothing."""
    match event.data:
        case IncidentReported() as reported:
            return partial(_start_clocks, event=event, reported=reported, policies=policies)
        case IncidentCommented(visibility=Visibility.PUBLIC, first_agent_reply=True) as comment:
            return partial(
                _stop_clocks,
                incident_id=comment.incident_id,
                metrics=(SlaMetric.FIRST_RESPONSE,),
                at=comment.commented_at,
            )
        case IncidentResolved() as resolved:
            # Resolving also answers the customer, so a running first-response clock is met too.
            return partial(
                _stop_clocks,
                incident_id=resolved.incident_id,
                metrics=(SlaMetric.FIRST_RESPONSE, SlaMetric.RESOLUTION),
                at=resolved.resolved_at,
            )
        case IncidentAssigned() as assigned:
            return partial(_record_assignee, assigned=assigned)
        case _:
            return None


async def _start_clocks(
    session: AsyncSession,
    now: datetime,
    *,
    event: Event[EventData],
    reported: IncidentReported,
    policies: PolicyCache,
) -> Sequence[EventData]:
    incident = _incident_of(reported)
    if await repository.record_incident(session, incident=incident):
        return ()  # a repeated report (a new event id) must not restart the clocks
    policy = domain.match_policy(
        await policies.policies(session),
        tier=incident.tier,
        severity=incident.severity,
        kind=incident.kind,
    )
    if policy is None:
        log.info("no SLA policy matches the incident; no clocks started")
        return ()
    # The clocks run from the report, not from when sla read it (never from the future).
    started_at = min(reported.reported_at, now)
    outcome = domain.start_clocks(
        incident,
        policy,
        started_at,
        calendar=calendar_named(policy.calendar),
        correlation_id=event.correlationid or str(event.id),
    )
    await repository.insert_clocks(session, clocks=outcome.clocks)
    return outcome.events


def _incident_of(reported: IncidentReported) -> domain.Incident:
    return domain.Incident(
        incident_id=reported.incident_id,
        customer_id=reported.customer.customer_id,
        tier=str(reported.customer.tier),
        severity=str(reported.severity),
        kind=reported.kind,
    )


async def _stop_clocks(
    session: AsyncSession,
    now: datetime,
    *,
    incident_id: str,
    metrics: Sequence[SlaMetric],
    at: datetime,
) -> Sequence[EventData]:
    # Locked, so the timer cannot breach a clock this reply or resolution is stopping.
    clocks = await repository.clocks_of(session, incident_id=incident_id, lock=True)
    outcomes = [domain.stop(clocks, metric, min(at, now)) for metric in metrics]
    await repository.save_clocks(session, clocks=[c for o in outcomes for c in o.clocks])
    return [event for outcome in outcomes for event in outcome.events]


async def _record_assignee(
    session: AsyncSession, now: datetime, *, assigned: IncidentAssigned
) -> Sequence[EventData]:
    await repository.record_assignee(
        session, incident_id=assigned.incident_id, agent_id=assigned.agent_id
    )
    return ()
