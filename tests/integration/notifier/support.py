"""The notifier running on the real Kafka, a fresh PostgreSQL database and a real SMTP server
(aiosmtpd on loopback), with builders of the facts it consumes and helpers to read what it did.

Each app gets its own topic prefix: the shared topics carry other tests' incidents and garbage,
and a `make up` notifier in the same consumer group would take partitions away from the test.
"""

import asyncio
import contextlib
import re
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any
from uuid import uuid4

import harness
import httpx
from incident_devstack.pytest_plugin import Infra
from incident_devstack.smtp_sink import SmtpSink
from incident_events import Event, EventData, new_event
from incident_events.incidents import CustomerRef, IncidentReported
from incident_events.sla import SlaBreached, SlaClockStarted
from incident_events.types import Channel, Severity, SlaMetric
from incident_kit.clock import FrozenClock
from notifier.app import create_app
from notifier.config import NotifierSettings

T0 = datetime(2025, 3, 4, 10, 30, tzinfo=UTC)
DUE = T0 + timedelta(hours=4)
KEY = "k"
AUTH = {"Authorization": f"Bearer {KEY}"}
PUBLIC_URL = "https://support.example.com"
DELIVERED, FAILED = "notification.delivered.v1", "notification.failed.v1"


def reported(
    incident_id: str, *, language: str = "cs", title: str = "Platba kartou neprošla", **changes: Any
) -> Event[IncidentReported]:
    customer = CustomerRef(
        customer_id=changes.pop("customer_id", f"cust-{uuid4().hex[:8]}"),
        name="Jana Nováková",
        email="jana@example.com",
        language=language,
        time_zone=changes.pop("time_zone", None),
    )
    data = IncidentReported(
        incident_id=incident_id,
        reference=f"INC-{uuid4().hex[:6].upper()}",
        title=title,
        severity=Severity.HIGH,
        channel=Channel.WEB,
        customer=customer,
        language=language,
        reported_at=T0,
        **changes,
    )
    return new_event(data, source="/intake", now=T0)


def clock_started(incident_id: str) -> Event[SlaClockStarted]:
    data = SlaClockStarted(
        incident_id=incident_id,
        clock_id=f"clk-{uuid4().hex[:8]}",
        metric=SlaMetric.FIRST_RESPONSE,
        policy_id="standard",
        target_seconds=4 * 3600,
        started_at=T0,
        due_at=DUE,
    )
    return new_event(data, source="/sla", now=T0)


def breached(incident_id: str) -> Event[SlaBreached]:
    data = SlaBreached(
        incident_id=incident_id,
        clock_id="clk-1",
        metric=SlaMetric.FIRST_RESPONSE,
        policy_id="standard",
        due_at=DUE,
        breached_at=DUE,
    )
    return new_event(data, source="/sla", now=DUE)


@dataclass
class NotifierUnderTest:
    client: httpx.AsyncClient
    reader: harness.EventReader
    bootstrap: str
    prefix: str
    mail: SmtpSink | None

    async def publish(self, event: Event[Any]) -> None:
        await harness.publish_event(self.bootstrap, event, prefix=self.prefix)

    async def fact(self, incident_id: str, event_type: str, template: str) -> Event[EventData]:
        return await self.reader.wait_for(
            lambda e: (
                e.subject == incident_id
                and e.type == event_type
                and getattr(e.data, "template", None) == template
            )
        )

    def mails_of(self, incident_id: str) -> list[EmailMessage]:
        assert self.mail is not None
        return [m for m in self.mail.messages() if m["X-Incident-Id"] == incident_id]

    async def metric(self, sample: str) -> float:
        text = (await self.client.get("/metrics")).text
        found = re.search(rf"^{re.escape(sample)} (\S+)$", text, re.MULTILINE)
        return float(found.group(1)) if found else 0.0


@contextlib.asynccontextmanager
async def running_notifier(
    infra: Infra,
    database_url: str,
    prefix: str,
    *,
    smtp_port: int,
    mail: SmtpSink | None,
    clock: FrozenClock | None = None,
    **settings: Any,
) -> AsyncIterator[NotifierUnderTest]:
    """The app on the test's database and topic prefix (the `kafka_topic_prefix` fixture)."""
    # Alembic runs its own event loop, so it may not run on the test's loop thread.
    await asyncio.to_thread(harness.migrate, database_url, "notifier")
    app = create_app(
        NotifierSettings(
            kafka_bootstrap_servers=infra.kafka_bootstrap_servers,
            database_url=database_url,
            api_keys=KEY,
            kafka_topic_prefix=prefix,
            smtp_port=smtp_port,
            public_url=PUBLIC_URL,
            **{"delivery_poll_seconds": 0.1, **settings},
        ),
        clock or FrozenClock(T0),
    )
    bootstrap = infra.kafka_bootstrap_servers
    async with (
        harness.running_app(app) as client,
        harness.EventReader(bootstrap, [prefix + "notifications"]) as reader,
    ):
        yield NotifierUnderTest(client, reader, bootstrap, prefix, mail)


@contextlib.asynccontextmanager
async def smtp_sink(directory: Path) -> AsyncIterator[SmtpSink]:
    sink = SmtpSink(directory)
    await asyncio.to_thread(sink.start)
    try:
        yield sink
    finally:
        await asyncio.to_thread(sink.stop)


async def wait_for_mail(sink: SmtpSink, predicate: Callable[[EmailMessage], bool]) -> EmailMessage:
    async with asyncio.timeout(30):
        return await sink.wait_for_message_async(predicate)
