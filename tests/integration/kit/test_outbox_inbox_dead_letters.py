"""The kit's delivery guarantees on the real broker and database: the outbox publishes only
what was committed, the inbox makes redelivery harmless, and failing messages reach the DLQ
with their reason while the consumer goes on."""

from uuid import uuid4

import pytest
from harness import (
    EventReader,
    eventually,
    headers_of,
    publish_event,
    publish_raw,
    read_raw,
    running_app,
)
from incident_devstack.pytest_plugin import Infra
from incident_events import Topic
from incident_events.incidents import IncidentReopened
from incident_kit.clock import FrozenClock
from incident_kit.consumer import Received, subscribe
from incident_kit.database import service_metadata
from incident_kit.inbox import inbox_table
from incident_kit.outbox import add_events, outbox_table
from incident_kit.service import Runtime, build_app, build_runtime
from incident_kit.settings import ServiceSettings
from integration.kit.support import T0, create_tables, reopened

pytestmark = pytest.mark.integration
metadata = service_metadata("kitdemo")
outbox = outbox_table(metadata)
inbox = inbox_table(metadata)


async def test_guarantees(infra: Infra, fresh_database_url: str, kafka_topic_prefix: str) -> None:
    prefix = kafka_topic_prefix
    settings = ServiceSettings(
        kafka_bootstrap_servers=infra.kafka_bootstrap_servers,
        database_url=fresh_database_url,
        kafka_topic_prefix=prefix,
        handler_retries=2,
    )
    runtime = build_runtime("kitdemo", settings, FrozenClock(T0), outbox=outbox, inbox=inbox)
    handled: list[str] = []

    async def record(received: Received) -> None:
        if received.event.subject.startswith("fails"):
            raise RuntimeError("downstream unavailable")
        received.after_commit(lambda: handled.append(received.event.subject))

    subscribe(
        runtime, Topic.INCIDENTS, record, acts_on=[IncidentReopened], description="test subscriber"
    )
    await create_tables(runtime.engine, metadata)

    app = build_app(runtime, title="kitdemo", description="", routers=[])
    async with (
        running_app(app) as client,
        EventReader(infra.kafka_bootstrap_servers, [f"{prefix}incidents"]) as reader,
    ):
        assert (await client.get("/readyz")).json()["checks"] == {"postgresql": True, "kafka": True}
        await outbox_publishes_only_committed_events(runtime, reader)
        await redelivery_is_harmless(infra, prefix, handled)
        await failing_and_garbage_messages_are_dead_lettered(infra, prefix, handled)
        metrics = (await client.get("/metrics")).text
        assert "dead_letters_total" in metrics and "outbox_events_published_total" in metrics


async def outbox_publishes_only_committed_events(runtime: Runtime, reader: EventReader) -> None:
    sessions = runtime.sessions
    kept, rolled_back = reopened(f"kept-{uuid4()}"), reopened(f"lost-{uuid4()}")
    async with sessions() as session:
        await add_events(session, outbox, [rolled_back])
        await session.rollback()
    async with sessions.begin() as session:
        await add_events(session, outbox, [kept])
    published = await reader.wait_for(lambda e: e.id == kept.id)
    assert published.data == kept.data
    assert all(e.id != rolled_back.id for e in reader.seen)


async def redelivery_is_harmless(infra: Infra, prefix: str, handled: list[str]) -> None:
    event = reopened(f"twice-{uuid4()}")
    marker = reopened(f"after-{uuid4()}")
    for message in (event, event, marker):
        await publish_event(infra.kafka_bootstrap_servers, message, prefix=prefix)
    await eventually(lambda: marker.subject in handled)
    assert handled.count(event.subject) == 1


async def failing_and_garbage_messages_are_dead_lettered(
    infra: Infra, prefix: str, handled: list[str]
) -> None:
    failing, after = reopened(f"fails-{uuid4()}"), reopened(f"next-{uuid4()}")
    servers, topic = infra.kafka_bootstrap_servers, f"{prefix}incidents"
    await publish_event(servers, failing, prefix=prefix)
    await publish_raw(servers, topic, "garbage-key", b"<html>not an event</html>")
    await publish_event(servers, after, prefix=prefix)
    dead = await read_raw(servers, f"{topic}.dlq", lambda r: r.key == failing.subject.encode())
    assert headers_of(dead)["dlq-reason"] == "RuntimeError: downstream unavailable"
    assert headers_of(dead)["dlq-attempts"] == "3"
    assert headers_of(dead)["dlq-consumer-group"] == f"{prefix}kitdemo"
    assert headers_of(dead)["dlq-error-class"] == "RuntimeError"
    garbage = await read_raw(servers, f"{topic}.dlq", lambda r: r.key == b"garbage-key")
    assert headers_of(garbage)["dlq-reason"].startswith("EventParseError: message is not JSON")
    assert headers_of(garbage)["dlq-attempts"] == "1"
    assert garbage.value == b"<html>not an event</html>"
    await eventually(lambda: after.subject in handled)  # the consumer went on
