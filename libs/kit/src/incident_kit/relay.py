"""The outbox relay: publishes committed outbox rows to Kafka, in order, idempotently, in batches.

Replicas of a service share one outbox, and the events of an incident must leave in commit
order, so only one relay publishes at a time: it holds a PostgreSQL advisory lock on a
connection of its own. The others wait for that lock and take over when the holder's
connection ends, whether it stopped or died.

Leadership is fenced: rows are claimed and marked published on the lock's own connection, in
one transaction per batch, so a relay whose connection (and with it the lock) is gone cannot
claim or mark anything. TCP keepalives on that connection make a silently dead peer noticed.

The relay wakes when this process commits outbox rows (`wake`). A standby relay (another
replica or worker process leads) passes the wake-up on to the leader with one NOTIFY after the
commit, coalescing those that come while one is on its way; the leader also polls, so a lost
notification only delays an event. The backlog gauge is refreshed on its own timer, and the
leader prunes published rows older than the retention.
"""

import asyncio
import contextlib
import logging
import time
from datetime import datetime, timedelta

import asyncpg
from aiokafka import AIOKafkaProducer
from sqlalchemy import Table, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from incident_kit.clock import Clock
from incident_kit.metrics import ServiceMetrics
from incident_kit.outbox import count_unpublished, prune_published, wait_for_wakeup

log = logging.getLogger(__name__)
HEADERS = [("content-type", b"application/cloudevents+json")]
# The server probes an idle relay connection, so a vanished peer ends the session (and the lock).
KEEPALIVES = {"tcp_keepalives_idle": "10", "tcp_keepalives_interval": "5"}
KEEPALIVES |= {"tcp_keepalives_count": "3"}
GAUGE_SECONDS = 5.0


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
        batch_size: int = 1000,
        topic_prefix: str = "",
    ) -> None:
        self._sessions = session_factory
        self._table = table
        self._name = f'"{table.schema}"."{table.name}"'
        self._producer = producer
        self._dsn = make_url(database_url).set(drivername="postgresql").render_as_string(False)
        self._clock = clock
        self._metrics = metrics
        self._poll_seconds = poll_seconds
        self._retention = retention
        self._batch_size = batch_size
        self._topic_prefix = topic_prefix
        self._lock_name = f"{table.schema}.{table.name} relay"
        self._pruned_at = 0.0
        self._wakeup = asyncio.Event()
        self._channel = f"{table.schema}_outbox"
        self._notifying = False
        self._tasks: list[asyncio.Task[None]] = []
        self._connection: asyncpg.Connection | None = None
        self.leading = False

    def wake(self) -> None:
        """Rows were committed in this process: publish now rather than at the next poll."""
        if self.leading:
            self._wakeup.set()
        elif not self._notifying:
            self._notifying = True
            asyncio.get_running_loop().create_task(self._notify_leader())

    async def _notify_leader(self) -> None:
        try:
            async with self._sessions() as session:
                await session.execute(text("SELECT pg_notify(:c, '')"), {"c": self._channel})
                await session.commit()
        except Exception:  # the leader's poll finds the rows anyway
            log.warning("could not notify the leading relay", exc_info=True)
        finally:
            self._notifying = False

    async def start(self) -> None:
        self._tasks = [
            asyncio.create_task(self._run(), name="outbox-relay"),
            asyncio.create_task(self._refresh_gauge(), name="outbox-gauge"),
        ]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self._step_down()

    async def publish_pending(self) -> int:
        """Publish one batch as the leader; returns how many events went out."""
        connection = self._connection
        if connection is None:
            raise ConnectionError("not leading: no relay connection")
        async with connection.transaction():
            rows = await connection.fetch(
                f"SELECT id, topic, message_key, payload, created_at FROM {self._name} "
                "WHERE published_at IS NULL ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED",
                self._batch_size,
            )
            if not rows:
                return 0
            await self._send(rows)
            now = self._clock.now()
            await connection.execute(
                f"UPDATE {self._name} SET published_at = $1 WHERE id = ANY($2::bigint[])",
                now,
                [row["id"] for row in rows],
            )
        self._count_published(rows, now)
        return len(rows)

    async def _send(self, rows: list[asyncpg.Record]) -> None:
        """Hand every row to the producer in order, then wait for all acknowledgements."""
        deliveries = [
            await self._producer.send(
                self._topic_prefix + row["topic"],
                value=row["payload"].encode(),
                key=row["message_key"].encode(),
                headers=HEADERS,
            )
            for row in rows
        ]
        await asyncio.gather(*deliveries)

    def _count_published(self, rows: list[asyncpg.Record], now: datetime) -> None:
        for row in rows:
            self._metrics.outbox_published.labels(topic=row["topic"]).inc()
            self._metrics.outbox_lag.observe(max((now - row["created_at"]).total_seconds(), 0))

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
            self._dsn,
            server_settings={
                "application_name": f"{self._table.schema} outbox relay",
                **KEEPALIVES,
            },
        )
        await connection.execute("SELECT pg_advisory_lock(hashtext($1))", self._lock_name)
        await connection.add_listener(self._channel, lambda *_: self._wakeup.set())
        self.leading = True
        self._metrics.outbox_relay_leader.set(1)
        log.info("outbox relay leads for %s", self._table.schema)

    async def _publish_while_leading(self) -> None:
        while self._connection is not None and not self._connection.is_closed():
            self._wakeup.clear()  # rows committed from here on wake the next round
            published = await self.publish_pending()
            if published < self._batch_size:
                await self._prune_now_and_then()
                await wait_for_wakeup(self._wakeup, self._poll_seconds)
        raise ConnectionError("the relay's connection closed, and with it the lead")

    async def _step_down(self) -> None:
        self.leading = False
        self._metrics.outbox_relay_leader.set(0)
        connection, self._connection = self._connection, None
        if connection is not None and not connection.is_closed():
            # Closing ends the session, which releases the lock for the next replica.
            await connection.close(timeout=5)

    async def _prune_now_and_then(self) -> None:
        moment = time.monotonic()
        if moment - self._pruned_at < max(self._poll_seconds, 60.0):
            return
        self._pruned_at = moment
        await self.prune()

    async def _refresh_gauge(self) -> None:
        """Count what waits to be published, on a timer of its own, leader or not."""
        while True:
            try:
                async with self._sessions() as session:
                    pending = await count_unpublished(session, self._table)
                self._metrics.outbox_pending.set(pending)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.warning("could not count the outbox backlog", exc_info=True)
            await asyncio.sleep(GAUGE_SECONDS)
