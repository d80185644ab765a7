"""The outbox relay: publishes committed outbox rows to Kafka, in order, idempotently.

Replicas of a service share one outbox, and the events of an incident must leave in commit
order, so only one relay publishes at a time: it holds a PostgreSQL advisory lock on its own
connection (the one it LISTENs on). The others wait for that lock and take over when the
holder's connection ends, whether it stopped or died. The leader also prunes published rows
older than the retention.
"""

import asyncio
import contextlib
import logging
import time
from datetime import timedelta

import asyncpg
from aiokafka import AIOKafkaProducer
from sqlalchemy import Table
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from incident_kit.clock import Clock
from incident_kit.metrics import ServiceMetrics
from incident_kit.outbox import (
    claim_unpublished,
    count_unpublished,
    mark_published,
    notify_channel,
    prune_published,
    wait_for_wakeup,
)

log = logging.getLogger(__name__)
HEADERS = [("content-type", b"application/cloudevents+json")]


class OutboxRelay:
    def __init__(
        self,
        *,
        session_factory: async_sessionmaker[AsyncSession],
        table: Table,
        producer: AIOKafkaProducer,
        database_url: str,
        clock: Clock,
        metrics: ServiceMetrics,
        poll_seconds: float,
        retention: timedelta = timedelta(hours=24),
        batch_size: int = 500,
        topic_prefix: str = "",
    ) -> None:
        self._sessions = session_factory
        self._table = table
        self._producer = producer
        self._dsn = make_url(database_url).set(drivername="postgresql").render_as_string(False)
        self._clock = clock
        self._metrics = metrics
        self._poll_seconds = poll_seconds
        self._retention = retention
        self._batch_size = batch_size
        self._topic_prefix = topic_prefix
        self._lock_name = f"{table.schema}.{table.name} relay"
        self._housekept_at = 0.0
        self._wakeup = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._connection: asyncpg.Connection | None = None
        self.leading = False

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="outbox-relay")

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self._step_down()

    async def publish_pending(self) -> int:
        """Publish one batch; returns how many events went out."""
        async with self._sessions() as session, session.begin():
            rows = await claim_unpublished(session, self._table, limit=self._batch_size)
            if not rows:
                return 0
            deliveries = [
                await self._producer.send(
                    self._topic_prefix + topic,
                    value=payload.encode(),
                    key=key.encode(),
                    headers=HEADERS,
                )
                for _, topic, key, payload, _ in rows
            ]
            await asyncio.gather(*deliveries)  # every event acknowledged before it is marked
            now = self._clock.now()
            await mark_published(session, self._table, ids=[r[0] for r in rows], now=now)
        for _, topic, _, _, created_at in rows:
            self._metrics.outbox_published.labels(topic=topic).inc()
            self._metrics.outbox_lag.observe(max((now - created_at).total_seconds(), 0))
        return len(rows)

    async def prune(self) -> int:
        """Delete published events older than the retention; returns how many went."""
        async with self._sessions.begin() as session:
            cutoff = self._clock.now() - self._retention
            pruned = await prune_published(session, self._table, created_before=cutoff)
        self._metrics.outbox_pruned.inc(pruned)
        return pruned

    async def _run(self) -> None:
        while True:
            try:
                await self._take_the_lead()
                await self._publish_while_leading()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("outbox relay failed; retrying after the poll interval")
            await self._step_down()
            await wait_for_wakeup(asyncio.Event(), self._poll_seconds)

    async def _take_the_lead(self) -> None:
        """Wait, on a connection of our own, until no other replica holds the relay's lock."""
        self._connection = connection = await asyncpg.connect(
            self._dsn, server_settings={"application_name": f"{self._table.schema} outbox relay"}
        )
        await connection.execute("SELECT pg_advisory_lock(hashtext($1))", self._lock_name)
        channel = notify_channel(str(self._table.schema))
        await connection.add_listener(channel, lambda *_: self._wakeup.set())
        self.leading = True
        self._metrics.outbox_relay_leader.set(1)
        log.info("outbox relay leads for %s", self._table.schema)

    async def _publish_while_leading(self) -> None:
        while self._connection is not None and not self._connection.is_closed():
            published = await self.publish_pending()
            if published < self._batch_size:
                await self._housekeep()
                await wait_for_wakeup(self._wakeup, self._poll_seconds)
        raise ConnectionError("the relay's connection closed, and with it the lead")

    async def _step_down(self) -> None:
        self.leading = False
        self._metrics.outbox_relay_leader.set(0)
        connection, self._connection = self._connection, None
        if connection is not None and not connection.is_closed():
            # Closing ends the session, which releases the lock for the next replica.
            await connection.close(timeout=5)

    async def _housekeep(self) -> None:
        """Count what waits and prune what is old, at most once per poll interval."""
        moment = time.monotonic()
        if moment - self._housekept_at < self._poll_seconds:
            return
        self._housekept_at = moment
        async with self._sessions() as session:
            self._metrics.outbox_pending.set(await count_unpublished(session, self._table))
        await self.prune()
