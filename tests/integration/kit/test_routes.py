"""One consumer for all of a service's topics (`subscribe_all`), on the real broker and
database: the events of each topic reach their own route's handler, each once, and the
service's one consumer-group member commits the offsets of every topic."""

from uuid import UUID, uuid4

import pytest
from harness import eventually, running_app
from incident_devstack.pytest_plugin import Infra
from incident_events import Event, Topic, new_event
from incident_events.incidents import IncidentReopened
from incident_events.routing import IncidentAssigned
from incident_kit.clock import FrozenClock
from incident_kit.consumer import EventHandler, Received, Route, subscribe_all
from incident_kit.database import service_metadata
from incident_kit.inbox import inbox_table
from incident_kit.outbox import outbox_table
from incident_kit.service import build_app, build_runtime
from incident_kit.settings import ServiceSettings
from integration.kit.support import T0, committed_offsets, create_tables, publish_all, reopened

pytestmark = pytest.mark.integration
metadata = service_metadata("kitroutes")
outbox = outbox_table(metadata)
inbox = inbox_table(metadata)


def assigned(incident_id: str) -> Event[IncidentAssigned]:
    data = IncidentAssigned(incident_id=incident_id, agent_id="ann", reason="test", assigned_at=T0)
    return new_event(data, source="/kit-test", now=T0)


async def offsets_reaching(
    servers: str, group: str, expected: dict[str, int]
) -> dict[str, int] | None:
    offsets = await committed_offsets(servers, group)
    return offsets if offsets == expected else None


async def test_one_consumer_takes_every_topic_to_its_own_handler(
    infra: Infra, fresh_database_url: str, kafka_topic_prefix: str
) -> None:
    prefix, servers = kafka_topic_prefix, infra.kafka_bootstrap_servers
    reopenings = [reopened(f"routes-{uuid4()}") for _ in range(5)]
    assignments = [assigned(f"routes-{uuid4()}") for _ in range(4)]
    await publish_all(servers, f"{prefix}incidents", [(e.subject, e.to_json()) for e in reopenings])
    await publish_all(
        servers, f"{prefix}assignments", [(e.subject, e.to_json()) for e in assignments]
    )
    handled: list[tuple[str, UUID]] = []

    def recording(route: str) -> EventHandler:
        async def handle(received: Received) -> None:
            event_id = received.event.id
            received.after_commit(lambda: handled.append((route, event_id)))

        return handle

    settings = ServiceSettings(
        kafka_bootstrap_servers=servers,
        database_url=fresh_database_url,
        kafka_topic_prefix=prefix,
    )
    runtime = build_runtime("kitroutes", settings, FrozenClock(T0), outbox=outbox, inbox=inbox)
    subscribe_all(
        runtime,
        [
            Route(Topic.INCIDENTS, recording("incidents"), (IncidentReopened,), "reopenings"),
            Route(Topic.ASSIGNMENTS, recording("assignments"), (IncidentAssigned,), "assignees"),
        ],
    )
    await create_tables(runtime.engine, metadata)
    async with running_app(build_app(runtime, title="kitroutes", description="", routers=[])):
        await eventually(lambda: len(handled) >= len(reopenings) + len(assignments))
        group = f"{prefix}kitroutes"
        expected = {f"{prefix}incidents": 5, f"{prefix}assignments": 4}
        offsets = await eventually(lambda: offsets_reaching(servers, group, expected))

    assert len(runtime.broker.subscribers) == 1
    assert sorted(handled) == sorted(
        [("incidents", e.id) for e in reopenings] + [("assignments", e.id) for e in assignments]
    )
    assert offsets == expected
    assert set(runtime.consumes) == {"incidents", "assignments"}
