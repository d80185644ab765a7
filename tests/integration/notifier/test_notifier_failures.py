"""When things go wrong: garbage is dead-lettered with its reason; an SMTP server that refuses
once gets the same message again; one that stays down is retried until the message is too old,
which ends in `notification.failed` and a metric (an outage is never a dead letter)."""

import threading
from collections import Counter
from datetime import timedelta
from email.message import EmailMessage
from email.parser import BytesParser
from email.policy import default
from uuid import uuid4

import asyncpg
import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from harness import eventually, headers_of, publish_raw, read_raw
from incident_devstack.processes import free_port
from incident_devstack.pytest_plugin import Infra
from incident_events.notifications import NotificationDelivered, NotificationFailed
from incident_kit.clock import FrozenClock
from integration.notifier.support import (
    DELIVERED,
    FAILED,
    T0,
    NotifierUnderTest,
    clock_started,
    reported,
    running_notifier,
)

pytestmark = pytest.mark.integration


async def test_garbage_on_sla_goes_to_the_dead_letter_topic(notifier: NotifierUnderTest) -> None:
    key = f"garbage-{uuid4()}"
    topic = notifier.prefix + "sla"
    await publish_raw(notifier.bootstrap, topic, key, b"{not json")

    record = await read_raw(notifier.bootstrap, topic + ".dlq", lambda r: r.key == key.encode())
    headers = headers_of(record)
    assert headers["dlq-reason"].startswith("EventParseError")
    assert headers["dlq-original-topic"] == topic
    assert record.value == b"{not json"


class RefusesFirstDelivery:
    """A real SMTP server that answers the first message with a temporary error."""

    def __init__(self) -> None:
        self.attempts: list[EmailMessage] = []

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        message = BytesParser(policy=default).parsebytes(envelope.original_content or b"")
        assert isinstance(message, EmailMessage)
        self.attempts.append(message)
        if len(self.attempts) == 1:
            return "451 4.3.0 Temporarily unable to accept mail"
        return "250 Message accepted for delivery"


async def test_a_refused_message_is_sent_again_with_the_same_message_id(
    infra: Infra, fresh_database_url: str, kafka_topic_prefix: str
) -> None:
    handler = RefusesFirstDelivery()
    server = Controller(handler, hostname="127.0.0.1", port=free_port())
    server.start()
    incident_id = f"inc-{uuid4()}"
    try:
        async with running_notifier(
            infra,
            fresh_database_url,
            kafka_topic_prefix,
            smtp_port=server.port,
            mail=None,
            delivery_retry_base_seconds=0,
        ) as notifier:
            await notifier.publish(reported(incident_id))
            await notifier.publish(clock_started(incident_id))
            delivered = await notifier.fact(incident_id, DELIVERED, "acknowledgement")
    finally:
        server.stop()

    first, second = handler.attempts
    assert first["Message-ID"] == second["Message-ID"]
    assert isinstance(delivered.data, NotificationDelivered)
    assert delivered.data.notification_id in second["Message-ID"]


async def test_smtp_down_is_retried_until_the_maximum_age_then_fails_visibly(
    infra: Infra, fresh_database_url: str, kafka_topic_prefix: str
) -> None:
    incident_id = f"inc-{uuid4()}"
    clock_event, clock = clock_started(incident_id), FrozenClock(T0)
    async with running_notifier(
        infra,
        fresh_database_url,
        kafka_topic_prefix,
        smtp_port=free_port(),
        mail=None,
        clock=clock,
        delivery_retry_base_seconds=0,
        delivery_max_age_seconds=3600,
    ) as notifier:
        await notifier.publish(reported(incident_id))

        # The two facts come on two topics; applied in this order, the clock is the cause.
        async def report_applied() -> bool:
            sample = 'events_handled_total{event_type="incident.reported.v1",outcome="handled"}'
            return await notifier.metric(sample) >= 1

        await eventually(report_applied)
        await notifier.publish(clock_event)

        async def retried_twice() -> bool:
            sample = 'notification_attempts_failed_total{channel="email"}'
            return await notifier.metric(sample) >= 2

        await eventually(retried_twice)
        assert await notifier.metric('notifications_failed_total{channel="email"}') == 0.0
        clock.advance(timedelta(hours=1))  # the message is now as old as the maximum age
        failed = await notifier.fact(incident_id, FAILED, "acknowledgement")
        assert await notifier.metric('notifications_failed_total{channel="email"}') == 1.0

    assert isinstance(failed.data, NotificationFailed)
    assert failed.data.attempts >= 3
    assert failed.data.cause_event_id == str(clock_event.id)
    assert failed.causationid == str(clock_event.id)
    assert "SMTPConnect" in failed.data.error


class Collects:
    """A real SMTP server that accepts every message and keeps it."""

    def __init__(self) -> None:
        self.received: list[EmailMessage] = []

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        message = BytesParser(policy=default).parsebytes(envelope.original_content or b"")
        assert isinstance(message, EmailMessage)
        self.received.append(message)
        return "250 Message accepted for delivery"


async def test_mail_still_goes_out_after_the_smtp_server_restarts(
    infra: Infra, fresh_database_url: str, kafka_topic_prefix: str
) -> None:
    """The notifier keeps its SMTP connection open between messages; a server that restarts
    in between closes it, and the next message goes out on a new one, without a failure."""
    port, before, after = free_port(), Collects(), Collects()
    first, second = f"inc-{uuid4()}", f"inc-{uuid4()}"
    server = Controller(before, hostname="127.0.0.1", port=port)
    server.start()
    try:
        async with running_notifier(
            infra, fresh_database_url, kafka_topic_prefix, smtp_port=port, mail=None
        ) as notifier:
            for incident_id in (first, second):
                await notifier.publish(reported(incident_id))
                await notifier.publish(clock_started(incident_id))
                await notifier.fact(incident_id, DELIVERED, "acknowledgement")
                if incident_id == first:
                    server.stop()  # closes the notifier's open connection
                    server = Controller(after, hostname="127.0.0.1", port=port)
                    server.start()
    finally:
        server.stop()

    # Not even one failed attempt on the way: the message went out on the first try.
    connection = await asyncpg.connect(fresh_database_url.replace("+asyncpg", ""))
    try:
        rows = await connection.fetch("SELECT attempts, error FROM notifier.deliveries")
    finally:
        await connection.close()
    assert [(row["attempts"], row["error"]) for row in rows] == [(1, None), (1, None)]

    assert [m["X-Incident-Id"] for m in before.received] == [first]
    assert [m["X-Incident-Id"] for m in after.received] == [second]


class HoldsTheFirstRefusesOne:
    """A real SMTP server that holds the first message until `release` is set (so the messages
    recorded meanwhile go out together in the worker's next round), and answers the first
    attempt of `refused` with a temporary error."""

    def __init__(self, refused: str) -> None:
        self.refused = refused
        self.release = threading.Event()
        self.attempts: list[EmailMessage] = []

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        message = BytesParser(policy=default).parsebytes(envelope.original_content or b"")
        assert isinstance(message, EmailMessage)
        self.attempts.append(message)
        if len(self.attempts) == 1:
            self.release.wait(30)  # the server's own thread: only this conversation waits
        tries = [m for m in self.attempts if m["X-Incident-Id"] == message["X-Incident-Id"]]
        if message["X-Incident-Id"] == self.refused and len(tries) == 1:
            return "451 4.3.0 Temporarily unable to accept mail"
        return "250 Message accepted for delivery"


async def test_a_refused_message_in_a_round_leaves_the_others_delivered_once(
    infra: Infra, fresh_database_url: str, kafka_topic_prefix: str
) -> None:
    """The worker records a round's sent messages together; one refused among them is tried
    again alone, and each of the others is recorded delivered once, not sent twice."""
    first, *together = (f"inc-{uuid4()}" for _ in range(4))
    refused = together[1]
    handler = HoldsTheFirstRefusesOne(refused)
    server = Controller(handler, hostname="127.0.0.1", port=free_port())
    server.start()
    database = await asyncpg.connect(fresh_database_url.replace("+asyncpg", ""))
    try:
        async with running_notifier(
            infra,
            fresh_database_url,
            kafka_topic_prefix,
            smtp_port=server.port,
            mail=None,
            delivery_retry_base_seconds=0,
            smtp_timeout_seconds=60,  # the held first message must not time out meanwhile
        ) as notifier:
            for incident_id in (first, *together):
                await notifier.publish(reported(incident_id))
                await notifier.publish(clock_started(incident_id))

            async def all_recorded() -> bool:
                count = "SELECT count(*) FROM notifier.deliveries"
                return bool(await database.fetchval(count) == 4)

            await eventually(all_recorded)  # the three wait while the first is held
            handler.release.set()
            delivered = {
                incident_id: await notifier.fact(incident_id, DELIVERED, "acknowledgement")
                for incident_id in (first, *together)
            }
            rows = await database.fetch(
                "SELECT incident_id, status, attempts FROM notifier.deliveries"
            )
    finally:
        await database.close()
        handler.release.set()
        server.stop()

    sent = Counter(m["X-Incident-Id"] for m in handler.attempts)
    assert sent == {first: 1, together[0]: 1, refused: 2, together[2]: 1}
    tries = [m for m in handler.attempts if m["X-Incident-Id"] == refused]
    assert tries[0]["Message-ID"] == tries[1]["Message-ID"]
    assert {row["incident_id"]: (row["status"], row["attempts"]) for row in rows} == {
        first: ("delivered", 1),
        together[0]: ("delivered", 1),
        refused: ("delivered", 2),
        together[2]: ("delivered", 1),
    }
    for fact in delivered.values():
        assert isinstance(fact.data, NotificationDelivered)
        sent_ids = {m["Message-ID"] for m in handler.attempts if m["X-Incident-Id"] == fact.subject}
        assert sent_ids == {f"<{fact.data.notification_id}@example.com>"}
    # One delivered fact per message: those recorded together were not recorded again.
    facts = [e for e in notifier.reader.seen if e.type == DELIVERED]
    assert Counter(e.subject for e in facts) == dict.fromkeys((first, *together), 1)
