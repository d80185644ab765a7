"""Delivering stored messages exactly once in effect: send, then mark delivered and record
`notification.delivered` in a second transaction; count failures and give up after the last."""

import logging

from incident_events import CloudEvent, follow_up
from incident_events.notifications import NotificationDelivered, NotificationFailed
from incident_kit.dead_letter import PoisonMessage
from incident_kit.outbox import add_events
from incident_kit.service import Runtime
from prometheus_client import CollectorRegistry, Counter

from notifier import repository
from notifier.domain import Delivery
from notifier.mail import EmailSender, build_email
from notifier.tables import outbox

log = logging.getLogger(__name__)
SOURCE = "/notifier"


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
            "Notifications given up after the last attempt",
            ["channel"],
            registry=registry,
        )


class DeliveryFailed(Exception):
    """Sending failed; raised so the consumer retries the message (and so the delivery)."""


class Deliveries:
    def __init__(
        self,
        runtime: Runtime,
        sender: EmailSender,
        metrics: NotifierMetrics,
        *,
        from_address: str,
        max_attempts: int,
    ) -> None:
        self._runtime, self._sender, self._metrics = runtime, sender, metrics
        self._from_address, self._max_attempts = from_address, max_attempts

    async def send(self, delivery: Delivery, *, cause: CloudEvent) -> None:
        """Send one pending delivery; raises when it has to be tried again."""
        try:
            await self._sender.send(build_email(delivery, sender=self._from_address))
        except Exception as error:
            await self._record_failure(delivery, f"{type(error).__name__}: {error}", cause)
            raise DeliveryFailed(f"{delivery.notification_id}: {error}") from error
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
            await add_events(session, outbox, [follow_up(cause, fact, source=SOURCE, now=now)])
        self._metrics.sent.labels(delivered.channel.value, delivered.template).inc()

    async def _record_failure(self, delivery: Delivery, error: str, cause: CloudEvent) -> None:
        now = self._runtime.clock.now()
        async with self._runtime.sessions.begin() as session:
            failed = await repository.record_failed_attempt(
                session,
                notification_id=delivery.notification_id,
                error=error,
                max_attempts=self._max_attempts,
            )
            if failed is None:
                log.warning("sending %s failed, will retry: %s", delivery.notification_id, error)
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
            await add_events(session, outbox, [follow_up(cause, fact, source=SOURCE, now=now)])
        self._metrics.failed.labels(failed.channel.value).inc()
        # The last attempt: dead-letter the message now rather than retrying it further.
        raise PoisonMessage(f"gave up on {failed.notification_id} after {failed.attempts} tries")
