"""FastStream overhead: the kit's consumer against a bare aiokafka consumer doing the same work.

Both consume the same pre-published events from the stack's broker and apply them with the
kit's `BatchApplier` (one transaction, set-based inbox claim, the handler, one offset commit per
batch) on the stack's PostgreSQL, in a scratch schema. The kit's consumer is FastStream's batch
subscriber (`incident_kit.consumer.subscribe`); the bare one is a loop of aiokafka's `getmany`,
`apply` and the kit's offset commit behind the next batch (`incident_kit.offsets`). What differs
is FastStream: its loop, middlewares and per-batch wrapping.
"""

import asyncio
import resource
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from uuid import uuid4

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from incident_events import Topic, new_event
from incident_events.incidents import IncidentReopened
from incident_kit.batch import BatchApplier, Received
from incident_kit.clock import SystemClock
from incident_kit.consumer import subscribe
from incident_kit.database import service_metadata
from incident_kit.inbox import inbox_table
from incident_kit.offsets import UncommittedOffsets
from incident_kit.outbox import outbox_table
from incident_kit.service import build_app, build_runtime
from incident_kit.settings import ServiceSettings
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from bench.report import Outcome, Table

SCHEMA = "benchconsumer"
metadata = service_metadata(SCHEMA)
outbox, inbox = outbox_table(metadata), inbox_table(metadata)


@dataclass(frozen=True)
class OverheadPlan:
    events: int = 20_000
    batch_size: int = 500


async def handle(received: Received) -> None:
    """The same small piece of work in both consumers: one statement in the transaction."""
    await received.session.execute(text("SELECT 1"))


async def run_overhead(env: dict[str, str], plan: OverheadPlan) -> Outcome:
    servers, database_url = env["KAFKA_BOOTSTRAP_SERVERS"], env["DATABASE_URL"]
    rows = []
    for name, consume in (("aiokafka", _bare), ("kit (FastStream)", _kit)):
        prefix = f"bench-{uuid4().hex[:8]}-"
        await _publish(servers, prefix, plan.events)
        settings = ServiceSettings(
            kafka_bootstrap_servers=servers,
            database_url=database_url,
            kafka_topic_prefix=prefix,
            consumer_batch_size=plan.batch_size,
        )
        seconds, cpu = await consume(settings, plan.events)
        rows.append(
            (
                name,
                plan.events,
                round(seconds, 2),
                round(plan.events / seconds),
                round(cpu / plan.events * 1e6, 1),
            )
        )
    bare_us, kit_us = rows[0][4], rows[1][4]
    table = Table(
        title=f"consumer: {plan.events} events, batches of up to {plan.batch_size}",
        columns=("consumer", "events", "seconds", "events/s", "CPU µs/event"),
        rows=list[tuple[object, ...]](rows),
        notes=[
            f"FastStream's share: {kit_us - bare_us:.1f} µs of CPU per event "
            f"({(kit_us / bare_us - 1) * 100:.0f} % over the bare consumer)"
        ],
    )
    figures: dict[str, object] = {
        "plan": plan.__dict__,
        "consumers": [dict(zip(table.columns, row, strict=True)) for row in rows],
        "faststream_cpu_us_per_event": round(kit_us - bare_us, 1),
    }
    return Outcome("consumer", figures, table)


async def _publish(servers: str, prefix: str, count: int) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=servers, linger_ms=5, acks="all")
    await producer.start()
    try:
        now = datetime.now(UTC)
        for number in range(count):
            data = IncidentReopened(incident_id=f"bench-{number % 500}", reopened_at=now, reason="")
            event = new_event(data, source="/bench", now=now)
            await producer.send(
                prefix + str(Topic.INCIDENTS), event.to_json(), key=event.subject.encode()
            )
        await producer.flush()
    finally:
        await producer.stop()


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def _kit(settings: ServiceSettings, count: int) -> tuple[float, float]:
    """Measured from the first event handled to the commit of the last (start-up excluded)."""
    runtime = build_runtime(SCHEMA, settings, SystemClock(), outbox=outbox, inbox=inbox)
    done = asyncio.Event()
    handled, started, cpu = 0, 0.0, 0.0

    async def counting(received: Received) -> None:
        nonlocal handled, started, cpu
        if handled == 0:
            started, cpu = time.perf_counter(), _cpu()
        await handle(received)
        handled += 1
        if handled == count:
            received.after_commit(done.set)

    subscribe(runtime, Topic.INCIDENTS, counting, acts_on=[IncidentReopened], description="")
    await _reset_schema(runtime.engine)
    app = build_app(runtime, title="bench", description="", routers=[])
    async with app.router.lifespan_context(app):
        await done.wait()
        return time.perf_counter() - started, _cpu() - cpu


async def _bare(settings: ServiceSettings, count: int) -> tuple[float, float]:
    runtime = build_runtime(SCHEMA, settings, SystemClock(), outbox=outbox, inbox=inbox)
    await _reset_schema(runtime.engine)
    applier = BatchApplier(
        consumer=SCHEMA,
        handle=handle,
        acts_on=(IncidentReopened,),
        sessions=runtime.sessions,
        inbox=inbox,
        outbox=outbox,
        clock=runtime.clock,
        metrics=runtime.metrics,
        source="/bench",
        retries=0,
    )
    consumer = AIOKafkaConsumer(
        settings.kafka_topic_prefix + str(Topic.INCIDENTS),
        bootstrap_servers=settings.kafka_bootstrap_servers,
        group_id=settings.kafka_topic_prefix + SCHEMA,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    offsets = UncommittedOffsets()
    try:
        started, cpu, applied = 0.0, 0.0, 0
        while applied < count:
            fetched = await consumer.getmany(timeout_ms=2, max_records=settings.consumer_batch_size)
            records = [record for batch in fetched.values() for record in batch]
            if records:
                if applied == 0:
                    started, cpu = time.perf_counter(), _cpu()
                await applier.apply(records)
                offsets.applied(records)
                offsets.commit_behind(consumer)  # as the kit commits
                applied += len(records)
        await offsets.settle()
        seconds, cpu = time.perf_counter() - started, _cpu() - cpu
    finally:
        await consumer.stop()
        await runtime.engine.dispose()
    return seconds, cpu


async def _reset_schema(engine: AsyncEngine) -> None:
    async with engine.begin() as connection:
        await connection.execute(text(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE"))
        await connection.execute(text(f"CREATE SCHEMA {SCHEMA}"))
        await connection.run_sync(metadata.create_all)
