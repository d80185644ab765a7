"""The probes of a kit service on the real broker and database.

/healthz answers 200 while the service runs, and 503 once a consumer's consume task or a
background loop has ended: such a process would never consume again. /readyz asks only the
checks the service needs, lists them all, and answers in time when a dependency hangs.
"""

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Collection

import httpx
import pytest
from harness import eventually, running_app
from incident_devstack.pytest_plugin import Infra
from incident_events import Topic
from incident_events.incidents import IncidentReopened
from incident_kit.clock import FrozenClock
from incident_kit.consumer import Received, subscribe
from incident_kit.database import service_metadata
from incident_kit.inbox import inbox_table
from incident_kit.outbox import outbox_table
from incident_kit.service import READINESS_CHECKS, Runtime, build_app, build_runtime
from incident_kit.settings import ServiceSettings
from integration.kit.support import T0, create_tables

pytestmark = pytest.mark.integration
metadata = service_metadata("kitprobe")
outbox = outbox_table(metadata)
inbox = inbox_table(metadata)


async def ignore(_: Received) -> None:
    pass


def service(infra: Infra, database_url: str, prefix: str) -> Runtime:
    settings = ServiceSettings(
        kafka_bootstrap_servers=infra.kafka_bootstrap_servers,
        database_url=database_url,
        kafka_topic_prefix=prefix,
        readiness_timeout_seconds=0.5,
    )
    runtime = build_runtime("kitprobe", settings, FrozenClock(T0), outbox=outbox, inbox=inbox)
    subscribe(runtime, Topic.INCIDENTS, ignore, acts_on=[IncidentReopened], description="probed")
    return runtime


@contextlib.asynccontextmanager
async def running(
    runtime: Runtime, needs: Collection[str] = READINESS_CHECKS
) -> AsyncIterator[httpx.AsyncClient]:
    app = build_app(runtime, title="kitprobe", description="", routers=[], readiness_needs=needs)
    async with running_app(app) as client:
        yield client


async def status_of(client: httpx.AsyncClient, path: str) -> int:
    return (await client.get(path)).status_code


async def failing(client: httpx.AsyncClient) -> bool:
    return await status_of(client, "/healthz") == 503


async def test_healthz_fails_once_the_consume_task_is_killed(
    infra: Infra, fresh_database_url: str, kafka_topic_prefix: str
) -> None:
    runtime = service(infra, fresh_database_url, kafka_topic_prefix)
    await create_tables(runtime.engine, metadata)
    async with running(runtime) as client:
        alive = await client.get("/healthz")
        assert (alive.status_code, alive.json()) == (200, {"status": "ok"})

        (subscriber,) = runtime.broker.subscribers
        for task in subscriber.tasks:  # type: ignore[attr-defined]
            task.cancel()  # FastStream restarts a task that raised, not a cancelled one

        await eventually(lambda: failing(client), timeout=5)
        dead = await client.get("/healthz")
        assert dead.status_code == 503
        topic = f"{kafka_topic_prefix}incidents"
        assert dead.json() == {
            "status": "failing",
            "failures": [f"consumer of {topic}: its consume task ended"],
        }
        assert await status_of(client, "/readyz") == 200  # reachable, yet not doing its job


async def test_healthz_fails_once_a_background_loop_died(
    infra: Infra, fresh_database_url: str, kafka_topic_prefix: str
) -> None:
    runtime = service(infra, fresh_database_url, kafka_topic_prefix)
    await create_tables(runtime.engine, metadata)
    breaking = asyncio.Event()

    async def refresh_something() -> None:
        await breaking.wait()
        raise RuntimeError("a bug the loop did not expect")

    runtime.background.append(refresh_something)
    async with running(runtime) as client:
        assert await status_of(client, "/healthz") == 200
        breaking.set()
        await eventually(lambda: failing(client), timeout=5)
        (failure,) = (await client.get("/healthz")).json()["failures"]
        assert failure.startswith("background loop ")
        assert failure.endswith("refresh_something: failed with RuntimeError")


@pytest.mark.parametrize(
    ("needs", "status"), [(READINESS_CHECKS, 503), ({"postgresql"}, 200)], ids=["all", "pg"]
)
async def test_readiness_asks_only_what_the_service_needs(
    infra: Infra,
    fresh_database_url: str,
    kafka_topic_prefix: str,
    needs: Collection[str],
    status: int,
) -> None:
    runtime = service(infra, fresh_database_url, kafka_topic_prefix)
    await create_tables(runtime.engine, metadata)
    async with running(runtime, needs) as client:

        async def hung_broker(timeout: float | None = None) -> bool:
            await asyncio.Event().wait()  # Kafka accepted the connection and answers nothing
            return True

        runtime.broker.ping = hung_broker  # type: ignore[method-assign]
        started = time.monotonic()
        answer = await client.get("/readyz")
        assert time.monotonic() - started < 2  # the check's timeout is 0.5 s
        assert answer.status_code == status
        assert answer.json()["checks"] == {"postgresql": True, "kafka": False}
        assert answer.json()["needs"] == sorted(needs)


async def test_readiness_answers_in_time_while_the_database_hangs(
    infra: Infra, kafka_topic_prefix: str
) -> None:
    """PostgreSQL accepts the connection and never answers (a hung host, a full backlog)."""
    held: list[asyncio.StreamWriter] = []

    async def never_answer(_: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)

    black_hole = await asyncio.start_server(never_answer, "127.0.0.1", 0)
    port = black_hole.sockets[0].getsockname()[1]
    runtime = service(infra, f"postgresql://probe@127.0.0.1:{port}/none", kafka_topic_prefix)
    try:
        async with running(runtime, {"postgresql"}) as client:
            started = time.monotonic()
            answer = await client.get("/readyz")
            assert time.monotonic() - started < 2
            assert answer.status_code == 503
            assert answer.json()["checks"] == {"postgresql": False, "kafka": True}
            assert await status_of(client, "/healthz") == 200  # waiting it out is alive
    finally:
        for writer in held:
            writer.close()
        black_hole.close()
