"""Graceful shutdown on the real broker: a service told to stop while a handler is running lets
that handler finish and commits its offset, so the next instance does not handle it again."""

import asyncio
import contextlib
from uuid import uuid4

import pytest
from harness import eventually, publish_event, running_app
from incident_devstack.pytest_plugin import Infra
from incident_events import Topic
from incident_events.incidents import IncidentReopened
from incident_kit.clock import FrozenClock
from incident_kit.consumer import Received, subscribe
from incident_kit.database import service_metadata
from incident_kit.inbox import inbox_table
from incident_kit.outbox import outbox_table
from incident_kit.service import Runtime, build_app, build_runtime
from incident_kit.settings import ServiceSettings
from integration.kit.support import T0, create_tables, reopened

pytestmark = pytest.mark.integration
metadata = service_metadata("kitstop")
outbox = outbox_table(metadata)
inbox = inbox_table(metadata)


class SlowHandler:
    """Records each event it handles; while `gate` is closed it holds the message in flight."""

    def __init__(self) -> None:
        self.started: list[str] = []
        self.finished: list[str] = []
        self.gate = asyncio.Event()

    async def __call__(self, received: Received) -> None:
        self.started.append(received.event.subject)
        await self.gate.wait()
        self.finished.append(received.event.subject)


def service(settings: ServiceSettings, handler: SlowHandler) -> Runtime:
    runtime = build_runtime("kitstop", settings, FrozenClock(T0), outbox=outbox, inbox=inbox)
    subscribe(
        runtime, Topic.INCIDENTS, handler, acts_on=[IncidentReopened], description="a slow handler"
    )
    return runtime


async def test_stop_lets_the_in_flight_message_finish_and_commits_it(
    infra: Infra, fresh_database_url: str, kafka_topic_prefix: str
) -> None:
    prefix = kafka_topic_prefix
    settings = ServiceSettings(
        kafka_bootstrap_servers=infra.kafka_bootstrap_servers,
        database_url=fresh_database_url,
        kafka_topic_prefix=prefix,
    )
    servers = infra.kafka_bootstrap_servers
    in_flight, after_restart = reopened(f"slow-{uuid4()}"), reopened(f"next-{uuid4()}")

    first = SlowHandler()
    runtime = service(settings, first)
    await create_tables(runtime.engine, metadata)
    lifespan = contextlib.AsyncExitStack()
    await lifespan.enter_async_context(
        running_app(build_app(runtime, title="k", description="", routers=[]))
    )
    await publish_event(servers, in_flight, prefix=prefix)
    await eventually(lambda: in_flight.subject in first.started)

    stopping = asyncio.create_task(lifespan.aclose())
    (subscriber,) = runtime.broker.subscribers
    await eventually(lambda: not subscriber.running)  # the stop has begun, and waits
    assert not stopping.done()
    first.gate.set()
    await stopping
    assert first.finished == [in_flight.subject]  # finished, not cancelled

    second = SlowHandler()
    second.gate.set()
    async with running_app(
        build_app(service(settings, second), title="k", description="", routers=[])
    ):
        await publish_event(servers, after_restart, prefix=prefix)
        await eventually(lambda: after_restart.subject in second.finished)
    assert second.finished == [after_restart.subject]  # the finished one was committed
