"""The notifier's Kafka consumer, of incidents and sla: incident facts and SLA facts become the
projection and the messages owed (acknowledgement, breach apology, resolution).

A handler records the messages in its batch's transaction, leased to this process's delivery
worker; once the batch commits, they are handed to the worker to send (`notifier.delivery`). A
status change older than the one applied (a dead letter replayed late, say) changes nothing
(`repository.set_status`).
"""

import logging
import secrets
from collections.abc import Callable
from functools import partial
from typing import Any

from incident_events import EventData, Topic
from incident_events.incidents import IncidentReported, IncidentResolved, IncidentStatusChanged
from incident_events.sla import SlaBreached, SlaClockStarted
from incident_kit.consumer import Received, Route, subscribe_all
from incident_kit.service import Runtime
from sqlalchemy.ext.asyncio import AsyncSession

from notifier import domain, repository
from notifier.delivery import DeliveryWorker
from notifier.domain import IncidentView, PlannedMessage
from notifier.preferences_cache import PreferencesCache
from notifier.rendering import render_message

log = logging.getLogger(__name__)
# A domain planner of a message about a fact: plan_breach_apology, plan_resolution.
Plan = Callable[..., PlannedMessage | None]


def register_handlers(
    runtime: Runtime, *, worker: DeliveryWorker, public_url: str, preferences: PreferencesCache
) -> None:
    handlers = NotifierHandlers(worker, public_url, preferences)
    subscribe_all(
        runtime,
        [
            Route(
                Topic.INCIDENTS,
                handlers.on_incident_event,
                (IncidentReported, IncidentStatusChanged, IncidentResolved),
                "The incident as the customer sees it; its status page.",
            ),
            Route(
                Topic.SLA,
                handlers.on_sla_event,
                (SlaClockStarted, SlaBreached),
                "The acknowledgement with the agreed response time; the apology on a breach.",
                # Only the first-response clock's start changes anything here: the others are
                # skipped before a transaction (one fewer per incident).
                acts_if=lambda data: (
                    not isinstance(data, SlaClockStarted) or domain.acknowledgement_awaits(data)
                ),
            ),
        ],
    )


class NotifierHandlers:
    def __init__(
        self, worker: DeliveryWorker, public_url: str, preferences: PreferencesCache
    ) -> None:
        self._worker, self._public_url, self._preferences = worker, public_url, preferences

    async def on_incident_event(self, received: Received) -> None:
        session = received.session
        match received.event.data:
            case IncidentReported() as reported:
                setting = domain.report_fields(reported)
                view = await self._lock(session, reported.incident_id, setting)
                await self._acknowledge_if_ready(received, view)
            case IncidentStatusChanged() as changed:
                await repository.set_status(
                    session,
                    incident_id=changed.incident_id,
                    status=changed.to_status.value,
                    changed_at=changed.changed_at,
                )
            case IncidentResolved() as resolved:
                await repository.set_status(
                    session,
                    incident_id=resolved.incident_id,
                    status="resolved",
                    changed_at=resolved.resolved_at,
                )
                await self._tell(
                    received, resolved, domain.plan_resolution, "resolution", "message"
                )
            case _:
                return  # a fact that changes nothing the customer sees from here

    async def on_sla_event(self, received: Received) -> None:
        session = received.session
        match received.event.data:
            case SlaClockStarted() as started if domain.acknowledgement_awaits(started):
                view = await self._lock(session, started.incident_id, domain.clock_fields(started))
                await self._acknowledge_if_ready(received, view)
            case SlaBreached() as breached:
                await self._tell(
                    received, breached, domain.plan_breach_apology, "breach", "apology"
                )
            case _:
                return

    async def _tell(
        self, received: Received, fact: EventData, plan: Plan, about: str, what: str
    ) -> None:
        """Plan and record a message about an incident this projection knows (an apology for a
        breach, the resolution); one never reported here gets none."""
        session = received.session
        found = await repository.find_incident(session, incident_id=fact.incident_id)
        if found is None:
            log.warning("%s of an incident never reported here; no %s sent", about, what)
            return
        planned = plan(
            found,
            fact,
            cause_event_id=str(received.event.id),
            status_url=self._status_url(found),
            preferences=await self._preferences.preferences_of(
                session, customer_id=found.customer_id
            ),
        )
        await self._record(received, planned)

    async def _acknowledge_if_ready(self, received: Received, stored: IncidentView) -> None:
        """Acknowledge once the report and the response clock are both known; the projection
        is written again only if that changed it."""
        session = received.session
        view, planned = domain.plan_acknowledgement(
            stored,
            cause_event_id=str(received.event.id),
            status_url=self._status_url(stored),
            preferences=await self._preferences.preferences_of(
                session, customer_id=stored.customer_id
            ),
        )
        if view != stored:
            await repository.save_incident(session, view=view)
        await self._record(received, planned)

    async def _record(self, received: Received, planned: PlannedMessage | None) -> None:
        """Render and store the message; the worker sends it once the batch commits."""
        if planned is None:
            return
        subject, body = render_message(planned.template, planned.language, planned.context)
        event = received.event
        lease_until = self._worker.lease_until(received.now)
        delivery = await repository.add_delivery(
            received.session,
            message=planned,
            subject=subject,
            body=body,
            now=received.now,
            lease_until=lease_until,
            correlation_id=event.correlationid or str(event.id),
            traceparent=event.traceparent,
        )
        if delivery is not None:
            received.after_commit(partial(self._worker.hand_over, delivery, lease_until))

    async def _lock(
        self, session: AsyncSession, incident_id: str, setting: dict[str, Any]
    ) -> IncidentView:
        """The projection with what the fact sets, locked; its customer's preferences cached,
        as they came with it."""
        token = secrets.token_urlsafe(24)  # used only when the incident is new here
        view, preferences = await repository.lock_incident(
            session, incident_id=incident_id, new_token=token, setting=setting
        )
        if view.customer_id is not None:
            self._preferences.remember(view.customer_id, preferences)
        return view

    def _status_url(self, view: IncidentView) -> str:
        return f"{self._public_url}/status/{view.status_token}"
