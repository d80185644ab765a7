"""Two batches of one service that touch the same incidents in opposite offset orders (its
subscribers of two topics, say) take the incidents' row locks in one order, so one waits for
the other instead of both deadlocking: PostgreSQL would stall them for its deadlock_timeout and
then undo one, a second's pause for every such pair."""

import asyncio
from collections.abc import Awaitable, Callable
from uuid import uuid4

import asyncpg
import pytest
from harness import eventually
from incident_kit.batch import BatchApplier, Received
from incident_kit.database import create_engine, create_session_factory, service_metadata
from incident_kit.inbox import inbox_table
from incident_kit.outbox import outbox_table
from integration.kit.support import create_tables, record_of, reopened, reopenings_applier
from sqlalchemy import Column, Table, Text, select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.engine import make_url

pytestmark = pytest.mark.integration
metadata = service_metadata("kitlocks")
outbox = outbox_table(metadata)
inbox = inbox_table(metadata)
# What the handlers lock and change: one row per incident, as a service's own incidents table.
incidents = Table(
    "incidents",
    metadata,
    Column("incident_id", Text, primary_key=True),
    Column("last_reason", Text, nullable=False),
)


async def test_batches_touching_the_same_incidents_in_opposite_orders_do_not_deadlock(
    fresh_database_url: str,
) -> None:
    engine = create_engine(fresh_database_url, application_name="kitlocks")
    await create_tables(engine, metadata)
    sessions = create_session_factory(engine)
    dsn = make_url(fresh_database_url).set(drivername="postgresql").render_as_string(False)
    watcher = await asyncpg.connect(dsn)
    first, second = f"a-{uuid4()}", f"b-{uuid4()}"
    deadlocks = "SELECT deadlocks FROM pg_stat_database WHERE datname = current_database()"
    deadlocks_before = await watcher.fetchval(deadlocks)

    second_batch_pid: list[int] = []
    second_batch_locked = asyncio.Event()

    async def upsert(received: Received) -> None:
        statement = insert(incidents).values(incident_id=received.event.subject, last_reason="x")
        await received.session.execute(
            statement.on_conflict_do_update(
                index_elements=[incidents.c.incident_id], set_={"last_reason": "x"}
            )
        )

    async def holding_back(received: Received) -> None:
        """The first batch: having locked its first incident, it waits until the second batch
        holds its own first lock or waits for one, the interleaving that deadlocks."""
        await upsert(received)

        async def second_is_locked_or_waiting() -> bool:
            if second_batch_locked.is_set():
                return True
            if not second_batch_pid:
                return False
            waiting = "SELECT wait_event_type = 'Lock' FROM pg_stat_activity WHERE pid = $1"
            return bool(await watcher.fetchval(waiting, second_batch_pid[0]))

        await eventually(second_is_locked_or_waiting, every=0.01)

    async def going_ahead(received: Received) -> None:
        if not second_batch_pid:
            pid = await received.session.execute(text("SELECT pg_backend_pid()"))
            second_batch_pid.append(pid.scalar_one())
        await upsert(received)
        second_batch_locked.set()

    def applier(handle: Callable[[Received], Awaitable[None]]) -> BatchApplier:
        return reopenings_applier("kitlocks", handle, sessions, inbox=inbox, outbox=outbox)

    in_order = [record_of(reopened(first), 0), record_of(reopened(second), 1)]
    reversed_order = [record_of(reopened(second), 0), record_of(reopened(first), 1)]
    try:
        applied = await asyncio.wait_for(
            asyncio.gather(
                applier(holding_back).apply(in_order),
                applier(going_ahead).apply(reversed_order),
            ),
            timeout=30,
        )
        async with sessions() as session:
            stored = set((await session.execute(select(incidents.c.incident_id))).scalars())
        deadlocks_after = await watcher.fetchval(deadlocks)
    finally:
        await watcher.close()
        await engine.dispose()

    assert [a.dead for a in applied] == [[], []]
    assert stored == {first, second}
    assert deadlocks_after == deadlocks_before
