"""Kafka subscribers: incident facts and SLA facts become the projection and the messages owed.

Each message is one transaction (inbox claim, projection, delivery rows), then the deliveries
are sent. A redelivered event whose messages are still pending sends them again; one whose
messages went out changes nothing.
"""

import logging
import secrets
from collections.abc import Awaitable, Callable, Sequence

from incident_events import Event, EventData, Topic
from incident_events.incidents import IncidentReported, IncidentResolved, IncidentStatusChanged
from incident_events.sla import SlaBreached, SlaClockStarted
from incident_kit.consumer import subscribe
from incident_kit.inbox import claim_event
from incident_kit.service import Runtime
from sqlalchemy.ext.asyncio import AsyncSession

from notifier import domain, repository
from notifier.delivery import Deliveries
from notifier.domain import Delivery, IncidentView, PlannedMessage
from notifier.rendering import render_message
from notifier.tables import inbox

log = logging.getLogger(__name__)
CONSUMER = "notifier"
Apply = Callable[[AsyncSession], Awaitable[Sequence[Delivery]]]


def register_handlers(runtime: Runtime, *, deliveries: Deliveries, public_url: str) -> None:
    handlers = NotifierHandlers(runtime, deliveries, public_url)
    subscribe(runtime, Topic.INCIDENTS, handlers.on_incident_event, description="Projection")
    subscribe(runtime, Topic.SLA, handlers.on_sla_event, description="Acknowledgement, apology")


class NotifierHandlers:
    def __init__(self, runtime: Runtime, deliveries: Deliveries, public_url: str) -> None:
        self._runtime, self._deliveries, self._public_url = runtime, deliveries, public_url

    async def on_incident_event(self, event: Event[EventData]) -> None:
        match event.data:
            case IncidentReported() as reported:
                await self._handle_once(event, lambda s: self._reported(s, event, reported))
            case IncidentStatusChanged() as changed:
                status = changed.to_status.value
                await self._handle_once(event, lambda s: self._status(s, event, status))
            case IncidentResolved():
                await self._handle_once(event, lambda s: self._status(s, event, "resolved"))
            case _:
                return  # a fact that changes nothing the customer sees from here

    async def on_sla_event(self, event: Event[EventData]) -> None:
        match event.data:
            case SlaClockStarted() as started:
                await self._handle_once(event, lambda s: self._clock_started(s, event, started))
            case SlaBreached() as breached:
                await self._handle_once(event, lambda s: self._breached(s, event, breached))
            case _:
                return

    async def _handle_once(self, event: Event[EventData], apply: Apply) -> None:
        """Apply a new event in one transaction; on a redelivery, resend what is still pending."""
        async with self._runtime.sessions.begin() as session:
            claimed = await claim_event(
                session, inbox, consumer=CONSUMER, event_id=event.id, event_type=event.type
            )
            if claimed:
                pending = await apply(session)
            else:
                pending = await repository.pending_deliveries(session, cause_event_id=str(event.id))
        for delivery in pending:
            await self._deliveries.send(delivery, cause=event)

    async def _reported(
        self, session: AsyncSession, event: Event[EventData], reported: IncidentReported
    ) -> list[Delivery]:
        view = domain.record_report(await self._lock(session, reported.incident_id), reported)
        return await self._acknowledge_if_ready(session, view, str(event.id))

    async def _clock_started(
        self, session: AsyncSession, event: Event[EventData], started: SlaClockStarted
    ) -> list[Delivery]:
        view = domain.record_clock_started(await self._lock(session, started.incident_id), started)
        return await self._acknowledge_if_ready(session, view, str(event.id))

    async def _breached(
        self, session: AsyncSession, event: Event[EventData], breached: SlaBreached
    ) -> list[Delivery]:
        view = await repository.find_incident(session, incident_id=breached.incident_id)
        if view is None:
            log.warning("breach of an incident never reported here; no apology sent")
            return []
        planned = domain.plan_breach_apology(
            view,
            breached,
            cause_event_id=str(event.id),
            status_url=self._status_url(view),
            preferences=await repository.preferences_of(session, customer_id=view.customer_id),
        )
        return await self._record(session, planned)

    async def _status(
        self, session: AsyncSession, event: Event[EventData], status: str
    ) -> list[Delivery]:
        await repository.set_status(session, incident_id=event.subject, status=status)
        return []

    async def _acknowledge_if_ready(
        self, session: AsyncSession, view: IncidentView, cause_event_id: str
    ) -> list[Delivery]:
        view, planned = domain.plan_acknowledgement(
            view,
            cause_event_id=cause_event_id,
            status_url=self._status_url(view),
            preferences=await repository.preferences_of(session, customer_id=view.customer_id),
        )
        await repository.save_incident(session, view=view)
        return await self._record(session, planned)

    async def _record(
        self, session: AsyncSession, planned: PlannedMessage | None
    ) -> list[Delivery]:
        """Render and store the message; what is returned is sent after the commit."""
        if planned is None:
            return []
        subject, body = render_message(planned.template, planned.language, planned.context)
        delivery = await repository.add_delivery(
            session, message=planned, subject=subject, body=body, now=self._runtime.clock.now()
        )
        return [delivery] if delivery else []

    async def _lock(self, session: AsyncSession, incident_id: str) -> IncidentView:
        token = secrets.token_urlsafe(24)  # used only when the incident is new here
        return await repository.lock_incident(session, incident_id=incident_id, new_token=token)

    def _status_url(self, view: IncidentView) -> str:
        return f"{self._public_url}/status/{view.status_token}"
