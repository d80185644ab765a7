"""The delivery worker: sends the messages the consumer recorded, exactly once in effect.

The consumer records deliveries in its batch's transaction, already leased to this process's
worker (so two replicas never send the same one), and hands them over once the batch commits:
a message on its way costs no claim. The worker also claims due deliveries, up to 50 at a time,
at least once a poll interval (retries, and what a stopped process left once its lease ended).
It sends each, then marks those sent delivered and records their `notification.delivered` in
one transaction (one commit per round rather than per message). A failed attempt is scheduled
again with backoff, over minutes to hours; past the maximum age the delivery fails visibly with
`notification.failed` and a metric. A crash between the mail server's acceptance and our record
(at most one round of sends) resends once the lease ends, with the same Message-ID:
at-least-once on the wire. So does a crash before sending: what was handed over waits for its
lease (`NOTIFIER_DELIVERY_LEASE_SECONDS`) to end.
"""

import asyncio
import logging
import time
from datetime import datetime, timedelta

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
        self._handed: list[tuple[Delivery, datetime]] = []
        self._next_claim = 0.0  # monotonic time of the next claim from the database

    def lease_until(self, now: datetime) -> datetime:
        """The lease of a delivery recorded at `now` for this worker."""
        return now + timedelta(seconds=self._settings.delivery_lease_seconds)

    def hand_over(self, delivery: Delivery, lease_until: datetime) -> None:
        """A delivery leased to this worker was committed: send it now."""
        self._handed.append((delivery, lease_until))
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
        """Send what was handed over, and what is due when a claim is; returns how many were
        claimed from the database (a full claim means more may wait)."""
        now = self._runtime.clock.now()
        handed, self._handed = self._handed, []
        # A lease half gone means this worker lagged: leave it to a claim rather than risk
        # sending it while another replica's claim takes it too.
        half = timedelta(seconds=self._settings.delivery_lease_seconds / 2)
        due = [delivery for delivery, until in handed if until - now > half]
        claimed: list[Delivery] = []
        if not handed or time.monotonic() >= self._next_claim:
            async with self._runtime.sessions.begin() as session:
                claimed = await repository.claim_due_deliveries(
                    session, now=now, lease_until=self.lease_until(now), limit=CLAIM_LIMIT
                )
            # A full claim means more wait (a backlog of retries, say): claim again next round
            # even while new messages keep being handed over.
            full = len(claimed) == CLAIM_LIMIT
            self._next_claim = (
                0.0 if full else time.monotonic() + self._settings.delivery_poll_seconds
            )
        due += claimed
        sent = [delivery for delivery in due if await self._attempt(delivery)]
        if sent:
            await self._record_delivered(sent)
        return len(claimed)

    async def _attempt(self, delivery: Delivery) -> bool:
        """Send it; a failure is recorded at once (and False returned)."""
        try:
            await self._sender.send(build_email(delivery, sender=self._settings.smtp_from))
        except Exception as error:
            await self._record_failure(delivery, f"{type(error).__name__}: {error}")
            return False
        return True

    async def _record_delivered(self, sent: list[Delivery]) -> None:
        """Mark them delivered and record `notification.delivered` for each, in one statement
        that is its own transaction (`repository.record_delivered`)."""
        now = self._runtime.clock.now()
        events = [
            self._follow_up(
                each,
                NotificationDelivered(
                    incident_id=each.incident_id,
                    notification_id=each.notification_id,
                    channel=each.channel,
                    template=each.template,
                    recipient=each.recipient,
                    language=each.language,
                    cause_event_id=each.cause_event_id,
                    delivered_at=now,
                ),
            )
            for each in sent
        ]
        async with self._runtime.sessions() as session:
            marked = await repository.record_delivered(
                session, deliveries=list(zip(sent, events, strict=True)), now=now
            )
        if marked:
            self._runtime.relay.wake()  # the events are committed; no session commit wakes it
        for each in sent:
            if each.notification_id in marked:
                self._metrics.sent.labels(each.channel.value, each.template).inc()

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
