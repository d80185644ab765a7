"""The delivery worker: sends the messages the consumer recorded, exactly once in effect.

The consumer only records deliveries (in its batch's transaction) and wakes the worker. The
worker leases due deliveries (so two replicas never send the same one), sends each, then marks
it delivered and records `notification.delivered` in one transaction. A failed attempt is
scheduled again with backoff, over minutes to hours; past the maximum age the delivery fails
visibly with `notification.failed` and a metric. A crash between the mail server's acceptance
and our record resends once the lease ends, with the same Message-ID: at-least-once on the wire.
"""

import asyncio
import logging
from datetime import timedelta

from incident_events import Event, EventData, new_event
from incident_events.notifications import NotificationDelivered, NotificationFailed
from incident_kit.outbox import add_events
from incident_kit.service import Runtime
from prometheus_client import CollectorRegistry, Counter

from notifier import repository
from notifier.config import NotifierSettings
from notifier.domain import Delivery
from notifier.mail import EmailSender, build_email
from notifier.tables import outbox

log = logging.getLogger(__name__)
SOURCE = "/notifier"
CLAIM_LIMIT = 50


class NotifierMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.sent = Counter(
            "notifications_sent_total",
            "Notifications delivered",
            ["channel", "template"],
            registry=registry,
        )
        self.failed = Counter(
            "notifications_failed_total",
            "Notifications given up after their maximum age",
            ["channel"],
            registry=registry,
        )
        self.attempts_failed = Counter(
            "notification_attempts_failed_total",
            "Sending attempts that failed and were scheduled again",
            ["channel"],
            registry=registry,
        )


class DeliveryWorker:
    def __init__(
        self,
        runtime: Runtime,
        sender: EmailSender,
        metrics: NotifierMetrics,
        settings: NotifierSettings,
    ) -> None:
        self._runtime, self._sender, self._metrics = runtime, sender, metrics
        self._settings = settings
        self._wakeup = asyncio.Event()

    def wake(self) -> None:
        """New deliveries were committed: send them now rather than at the next poll."""
        self._wakeup.set()

    async def run(self) -> None:
        while True:
            try:
                while await self.send_due() == CLAIM_LIMIT:
                    pass
            except Exception:  # the database may be away; the next round tries again
                log.warning("delivery round failed", exc_info=True)
            try:
                await asyncio.wait_for(self._wakeup.wait(), self._settings.delivery_poll_seconds)
            except TimeoutError:
                pass
            self._wakeup.clear()

    async def send_due(self) -> int:
        """Lease what is due and send it; returns how many were tried."""
        now = self._runtime.clock.now()
        lease = now + timedelta(seconds=self._settings.delivery_lease_seconds)
        async with self._runtime.sessions.begin() as session:
            due = await repository.claim_due_deliveries(
                session, now=now, lease_until=lease, limit=CLAIM_LIMIT
            )
        for delivery in due:
            await self._attempt(delivery)
        return len(due)

    async def _attempt(self, delivery: Delivery) -> None:
        try:
            await self._sender.send(build_email(delivery, sender=self._settings.smtp_from))
        except Exception as error:
            await self._record_failure(delivery, f"{type(error).__name__}: {error}")
            return
        now = self._runtime.clock.now()
        async with self._runtime.sessions.begin() as session:
            delivered = await repository.mark_delivered(
                session, notification_id=delivery.notification_id, now=now
            )
            if delivered is None:
                return  # settled meanwhile by another attempt; its event is already recorded
            fact = NotificationDelivered(
                incident_id=delivered.incident_id,
                notification_id=delivered.notification_id,
                channel=delivered.channel,
                template=delivered.template,
                recipient=delivered.recipient,
                language=delivered.language,
                cause_event_id=delivered.cause_event_id,
                delivered_at=now,
            )
            await add_events(session, outbox, [self._follow_up(delivered, fact)])
        self._metrics.sent.labels(delivered.channel.value, delivered.template).inc()

    async def _record_failure(self, delivery: Delivery, error: str) -> None:
        settings, now = self._settings, self._runtime.clock.now()
        give_up = now - delivery.created_at >= timedelta(seconds=settings.delivery_max_age_seconds)
        delay = min(
            settings.delivery_retry_cap_seconds,
            settings.delivery_retry_base_seconds * 2**delivery.attempts,
        )
        async with self._runtime.sessions.begin() as session:
            failed = await repository.record_failed_attempt(
                session,
                notification_id=delivery.notification_id,
                error=error,
                next_attempt_at=now + timedelta(seconds=delay),
                give_up=give_up,
            )
            if failed is None:
                log.warning("sending %s failed, will retry: %s", delivery.notification_id, error)
                self._metrics.attempts_failed.labels(delivery.channel.value).inc()
                return
            fact = NotificationFailed(
                incident_id=failed.incident_id,
                notification_id=failed.notification_id,
                channel=failed.channel,
                template=failed.template,
                recipient=failed.recipient,
                cause_event_id=failed.cause_event_id,
                error=error[:2000],
                attempts=failed.attempts,
                failed_at=now,
            )
            await add_events(session, outbox, [self._follow_up(failed, fact)])
        log.error("gave up on %s after %d attempts", failed.notification_id, failed.attempts)
        self._metrics.failed.labels(failed.channel.value).inc()

    def _follow_up(self, delivery: Delivery, fact: EventData) -> Event[EventData]:
        return new_event(
            fact,
            source=SOURCE,
            now=self._runtime.clock.now(),
            correlation_id=delivery.correlation_id,
            causation_id=delivery.cause_event_id,
            traceparent=delivery.traceparent,
        )
