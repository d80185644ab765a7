"""When each incident's `incident.assigned.v1` appeared on Kafka: watched in the background for
a whole benchmark, looked up by incident id."""

import asyncio
import time
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager, suppress
from uuid import uuid4

from aiokafka import AIOKafkaConsumer
from incident_events import EventParseError, parse_event
from incident_events.topics import Topic

from bench.baseline import wait_for_assignment


class AssignmentWatch:
    """`assigned_at[incident_id]` is the perf_counter time its assignment was received."""

    def __init__(self, consumer: AIOKafkaConsumer) -> None:
        self.assigned_at: dict[str, float] = {}
        self._consumer = consumer

    async def watch(self) -> None:
        while True:
            batches = await self._consumer.getmany(timeout_ms=200)
            now = time.perf_counter()
            for records in batches.values():
                for record in records:
                    try:
                        event = parse_event(record.value)
                    except EventParseError:
                        continue
                    if event.type == "incident.assigned.v1":
                        self.assigned_at.setdefault(event.subject, now)

    async def wait_for(self, incident_ids: Iterable[str], *, timeout: float) -> None:
        """Return once every incident is assigned or `timeout` seconds have passed."""
        missing = set(incident_ids)
        deadline = time.perf_counter() + timeout
        while missing and time.perf_counter() < deadline:
            await asyncio.sleep(0.05)
            missing.difference_update(self.assigned_at)


@asynccontextmanager
async def watch_assignments(bootstrap_servers: str) -> AsyncIterator[AssignmentWatch]:
    """A watch that has its partitions (it sees every assignment made from now on)."""
    consumer = AIOKafkaConsumer(
        Topic.ASSIGNMENTS.value,
        bootstrap_servers=bootstrap_servers,
        group_id=f"bench-{uuid4().hex[:8]}",
        auto_offset_reset="latest",
    )
    await consumer.start()
    try:
        await wait_for_assignment(consumer)
        watch = AssignmentWatch(consumer)
        task = asyncio.create_task(watch.watch())
        try:
            yield watch
        finally:
            task.cancel()
            with suppress(asyncio.CancelledError):
                await task
    finally:
        await consumer.stop()
