"""When each incident's events appeared on Kafka: watched in the background for a whole
benchmark, looked up by event type and incident id. The pipeline watches the assignments; the
`stages` benchmark the reports too."""

import asyncio
import time
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass
from uuid import uuid4

from aiokafka import AIOKafkaConsumer
from incident_events import EventParseError, parse_event
from incident_events.topics import Topic

from bench.baseline import wait_for_assignment

REPORTED, ASSIGNED = "incident.reported.v1", "incident.assigned.v1"


@dataclass(frozen=True)
class Seen:
    """One event on Kafka, in perf_counter seconds."""

    sent: float  # the record's CreateTime: when a relay handed it to its producer
    read: float  # when the watch read it
    made: float  # the event's time: when its service took the fact up


class EventWatch:
    """`seen[(event type, incident id)]` for the event types watched; `assigned_at[incident id]`
    when its assignment was read."""

    def __init__(self, consumer: AIOKafkaConsumer, types: Iterable[str]) -> None:
        self.seen: dict[tuple[str, str], Seen] = {}
        self.assigned_at: dict[str, float] = {}
        self._consumer, self._types = consumer, frozenset(types)
        # Producers stamp records with the wall clock; the benchmarks time with perf_counter.
        self._wall_minus_perf = time.time() - time.perf_counter()

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
                    if event.type not in self._types:
                        continue
                    incident = event.subject or ""
                    self.seen.setdefault(
                        (event.type, incident),
                        Seen(
                            sent=record.timestamp / 1000 - self._wall_minus_perf,
                            read=now,
                            made=event.time.timestamp() - self._wall_minus_perf,
                        ),
                    )
                    if event.type == ASSIGNED:
                        self.assigned_at.setdefault(incident, now)

    async def wait_for(self, incident_ids: Iterable[str], *, timeout: float) -> None:
        """Return once every incident is assigned or `timeout` seconds have passed."""
        missing = set(incident_ids)
        deadline = time.perf_counter() + timeout
        while missing and time.perf_counter() < deadline:
            await asyncio.sleep(0.05)
            missing.difference_update(self.assigned_at)


@asynccontextmanager
async def watch_events(
    bootstrap_servers: str,
    topics: Iterable[Topic] = (Topic.ASSIGNMENTS,),
    types: Iterable[str] = (ASSIGNED,),
) -> AsyncIterator[EventWatch]:
    """A watch that has its partitions (it sees every event of `types` made from now on)."""
    consumer = AIOKafkaConsumer(
        *(topic.value for topic in topics),
        bootstrap_servers=bootstrap_servers,
        group_id=f"bench-{uuid4().hex[:8]}",
        auto_offset_reset="latest",
    )
    await consumer.start()
    try:
        await wait_for_assignment(consumer)
        watch = EventWatch(consumer, types)
        task = asyncio.create_task(watch.watch())
        try:
            yield watch
        finally:
            task.cancel()
            with suppress(asyncio.CancelledError):
                await task
    finally:
        await consumer.stop()
