"""The outbox relay: publishes committed outbox rows to Kafka, in order, idempotently, in batches.

Replicas of a service share one outbox, and the events of an incident must leave in commit
order, so only one relay publishes at a time: it holds a PostgreSQL advisory lock on a
connection of its own. The others try for that lock once a poll interval and take over when the
holder's connection ends, whether it stopped or died. They try rather than wait in
`pg_advisory_lock`: a statement waiting holds its snapshot, and that held back the database's
cleanup horizon for as long as the standby stood by. Vacuum could then remove no dead row in
any schema, and every claim re-read the index entries of all rows published since the standby
started (a second intake process made the lone intake's relay backend use 0.9 of a core).

Leadership is fenced: rows are claimed and marked published on the lock's own connection, so a
relay whose connection (and with it the lock) is gone cannot claim or mark anything. TCP
keepalives on that connection make a silently dead peer noticed. A batch is marked published by
the next claim, as a data-modifying CTE of it: one statement a round, with no transaction around
it. Only the leader claims, so the claim needs no row locks; rows published but not yet marked
are kept out of the claim by their ids. So a published batch stays unmarked until the next
round: the next wake-up, or the poll (`poll_seconds`) when none comes, or stepping down. A relay
that dies meanwhile leaves its last batch unmarked, to be published again by the next leader
(consumers' inboxes absorb the repeat), as a rolled-back transaction would. For the same reason
the relay's connection commits without waiting for the disk (`synchronous_commit=off`): a mark
lost to a crash of PostgreSQL leaves its rows to be published again, as a relay that died would,
and no mark costs a WAL flush the relay waits for. The events themselves, and everything the
services commit, stay durable.

A batch is published by `incident_kit.publishing`: what the broker acknowledged is marked
published even when other rows of the batch failed, a row that can never be published is
quarantined with its error, and the rest waits for the next round, after a backoff when the
broker is out of reach. A claim skips quarantined rows and the rows of their incidents behind
them (`outbox_held_events`), so one bad event holds up its own incident only.

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
from sqlalchemy import Table
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from incident_kit.clock import Clock
from incident_kit.driver import connection_of
from incident_kit.errors import backoff_seconds, redacted_reason
from incident_kit.metrics import ServiceMetrics
from incident_kit.outbox import outbox_backlog, prune_published, wait_for_wakeup
from incident_kit.outbox_metrics import QuarantineMetrics
from incident_kit.publishing import BatchPublisher, OutboxRow, Publication

log = logging.getLogger(__name__)
# The server probes an idle relay connection, so a vanished peer ends the session (and the lock).
KEEPALIVES = {"tcp_keepalives_idle": "10", "tcp_keepalives_interval": "5"}
KEEPALIVES |= {"tcp_keepalives_count": "3"}
# The relay's own connection. Marks commit without waiting for the disk (see above). And its
# claim reads through indexes only: the rows to mark by their ids, the rows to publish from the
# unpublished rows' index in id order. asyncpg prepares the claim once, and after five rounds
# PostgreSQL may keep one generic plan, made while the outbox was small: in a fresh database
# that plan marked by reading the whole table, and claimed through a bitmap of the index, which
# visits the page of every row published since the last vacuum, each round, where an index scan
# marks a dead entry the first time it passes it and then skips it. Such a plan stays until
# autovacuum first analyses the table (a minute or more). At 200/s in a new stack the intake
# relay's claims took 1.0 ms each, 0.19 ms with these settings (bench/results/20261203T200408Z
# and T201132Z). The relay's connection runs nothing else.
SERVER_SETTINGS = {"synchronous_commit": "off", "enable_seqscan": "off", "enable_bitmapscan": "off"}
SERVER_SETTINGS |= KEEPALIVES
GAUGE_SECONDS = 5.0
# Marks the last round's published rows ($3, published at $2), and claims: unpublished, not
# among those just marked (the CTE's update is not visible to the statement's own snapshot), not
# quarantined, and no earlier row of its incident is quarantined. No FOR UPDATE: only the leader
# claims, and nothing else changes unpublished rows.
CLAIM = (
    "WITH marked AS (UPDATE {table} SET published_at = $2 WHERE id = ANY($3::bigint[])) "
    "SELECT o.id, o.topic, o.message_key, convert_to(o.payload, 'UTF8') AS value, o.created_at "
    "FROM {table} AS o WHERE o.published_at IS NULL AND o.quarantined_at IS NULL "
    "AND o.id <> ALL($3::bigint[]) "
    "AND NOT EXISTS (SELECT FROM {table} AS q WHERE q.message_key = o.message_key "
    "AND q.id < o.id AND q.quarantined_at IS NOT NULL AND q.published_at IS NULL) "
    "ORDER BY o.id LIMIT $1"
)


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
        self._dsn = make_url(database_url).set(drivername="postgresql").render_as_string(False)
        self._clock = clock
        self._metrics = metrics
        self._poll_seconds = poll_seconds
        self._retention = retention
        self._batch_size = batch_size
        self._publisher = BatchPublisher(producer, topic_prefix=topic_prefix)
        self._quarantine = QuarantineMetrics(metrics.registry)
        self._claim = CLAIM.format(table=self._name)
        self._lock_name = f"{table.schema}.{table.name} relay"
        self._pruned_at = 0.0
        self._wakeup = asyncio.Event()
        self._channel = f"{table.schema}_outbox"
        self._notifying = False
        self._tasks: list[asyncio.Task[None]] = []
        self._connection: asyncpg.Connection | None = None
        # The last round's published rows and when they were published: the next claim marks them.
        self._unmarked: tuple[datetime, list[int]] | None = None
        self.leading = False

    @property
    def tasks(self) -> list[asyncio.Task[None]]:
        """The relay's running tasks (publishing, gauges), for the liveness probe."""
        return list(self._tasks)

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
                # On the driver, outside a transaction: sent at once, one round trip where the
                # session's BEGIN, statement and COMMIT took three.
                driver = await connection_of(session)
                await driver.execute("SELECT pg_notify($1, '')", self._channel)
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

    async def publish_pending(self) -> Publication:
        """Publish one batch as the leader; returns what became of its rows."""
        connection = self._connection
        if connection is None:
            raise ConnectionError("not leading: no relay connection")
        published_at, ids = self._unmarked or (self._clock.now(), [])
        records = await connection.fetch(self._claim, self._batch_size, published_at, ids)
        self._unmarked = None  # marked by the claim that just returned
        if not records:
            return Publication()
        outcome = await self._publisher.publish([OutboxRow(*record) for record in records])
        now = self._clock.now()
        if outcome.published:
            self._unmarked = (now, [row.id for row in outcome.published])
        await self._quarantine_rows(connection, outcome, now)
        self._count(outcome, now)
        return outcome

    async def mark_published(self) -> None:
        """Mark the last round's published rows now rather than with the next claim."""
        if self._unmarked is None or self._connection is None:
            return
        published_at, ids = self._unmarked
        await self._connection.execute(
            f"UPDATE {self._name} SET published_at = $1 WHERE id = ANY($2::bigint[])",
            published_at,
            ids,
        )
        self._unmarked = None

    async def _quarantine_rows(
        self, connection: asyncpg.Connection, outcome: Publication, now: datetime
    ) -> None:
        if outcome.quarantined:
            await connection.execute(
                f"UPDATE {self._name} AS o SET quarantined_at = $1, error = q.error "
                "FROM unnest($2::bigint[], $3::text[]) AS q(id, error) WHERE o.id = q.id",
                now,
                [row.id for row, _ in outcome.quarantined],
                [redacted_reason(error) for _, error in outcome.quarantined],
            )

    def _count(self, outcome: Publication, now: datetime) -> None:
        for row in outcome.published:
            self._metrics.outbox_published.labels(topic=row.topic).inc()
            self._metrics.outbox_lag.observe(max((now - row.created_at).total_seconds(), 0))
        for row, error in outcome.quarantined:
            self._quarantine.quarantined.labels(topic=row.topic).inc()
            log.error(
                "outbox event %d of incident %s quarantined, its later events held: %s",
                row.id,
                row.key,
                redacted_reason(error),
            )

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
        """Try, on a connection of our own, until no other replica holds the relay's lock."""
        self._connection = connection = await asyncpg.connect(
            self._dsn,
            server_settings={
                "application_name": f"{self._table.schema} outbox relay",
                **SERVER_SETTINGS,
            },
        )
        try_lock = "SELECT pg_try_advisory_lock(hashtext($1))"
        # Polled: the lock has no wake-up to wait for, and waiting in pg_advisory_lock is what
        # held the snapshot (above).
        while not await connection.fetchval(try_lock, self._lock_name):  # noqa: ASYNC110
            await asyncio.sleep(self._poll_seconds)
        await connection.add_listener(self._channel, lambda *_: self._wakeup.set())
        self.leading = True
        self._metrics.outbox_relay_leader.set(1)
        log.info("outbox relay leads for %s", self._table.schema)

    async def _publish_while_leading(self) -> None:
        failures = 0
        while self._connection is not None and not self._connection.is_closed():
            self._wakeup.clear()  # rows committed from here on wake the next round
            outcome = await self.publish_pending()
            if outcome.retry_because is not None:
                failures += 1
                delay = backoff_seconds(failures, base=self._poll_seconds / 2)
                log.warning(
                    "outbox events wait for the broker, retrying in %.1f s: %s",
                    delay,
                    redacted_reason(outcome.retry_because),
                )
                await asyncio.sleep(delay)
                continue
            failures = 0
            if outcome.claimed < self._batch_size:
                await self._prune_now_and_then()
                await wait_for_wakeup(self._wakeup, self._poll_seconds)
        raise ConnectionError("the relay's connection closed, and with it the lead")

    async def _step_down(self) -> None:
        self.leading = False
        self._metrics.outbox_relay_leader.set(0)
        try:
            await self.mark_published()
        except Exception:  # the connection is gone: the next leader publishes them again
            log.warning("could not mark the last published events", exc_info=True)
        self._unmarked = None
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
                    backlog = await outbox_backlog(session, self._table)
                self._metrics.outbox_pending.set(backlog.pending)
                self._quarantine.waiting.set(backlog.quarantined)
                self._quarantine.held.set(backlog.held)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.warning("could not count the outbox backlog", exc_info=True)
            await asyncio.sleep(GAUGE_SECONDS)
