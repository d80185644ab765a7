"""The outbox relay: publishes committed outbox rows to Kafka, in order, idempotently."""

import asyncio
import contextlib
import logging
import time

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
        self._batch_size = batch_size
        self._topic_prefix = topic_prefix
        self._gauge_refreshed_at = 0.0
        self._wakeup = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._listener: asyncpg.Connection | None = None

    async def start(self) -> None:
        await self._listen()
        self._task = asyncio.create_task(self._run(), name="outbox-relay")

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._listener:
            await self._listener.close()

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

    async def _listen(self) -> None:
        try:
            self._listener = await asyncpg.connect(self._dsn)
            channel = notify_channel(str(self._table.schema))
            await self._listener.add_listener(channel, lambda *_: self._wakeup.set())
        except (OSError, asyncpg.PostgresError) as error:
            log.warning("outbox LISTEN unavailable, polling only: %s", error)

    async def _run(self) -> None:
        while True:
            try:
                published = await self.publish_pending()
                if published < self._batch_size:
                    await self._refresh_pending_gauge()
                    await wait_for_wakeup(self._wakeup, self._poll_seconds)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("outbox relay failed; retrying after the poll interval")
                await wait_for_wakeup(asyncio.Event(), self._poll_seconds)

    async def _refresh_pending_gauge(self) -> None:
        """Count what waits, at most once per poll interval (a count per wakeup costs too much)."""
        moment = time.monotonic()
        if moment - self._gauge_refreshed_at < self._poll_seconds:
            return
        self._gauge_refreshed_at = moment
        async with self._sessions() as session:
            self._metrics.outbox_pending.set(await count_unpublished(session, self._table))
