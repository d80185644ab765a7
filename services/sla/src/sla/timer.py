"""The SLA timer: fires the warnings and breaches of running clocks when their moment comes.

Clocks live in PostgreSQL and carry their next moment (`next_fire_at`), so replicas share the
work: each round takes the clocks whose moment has passed, FOR UPDATE SKIP LOCKED, and after a
restart overdue clocks fire at once. Two rules keep what it says true:

- Time is PostgreSQL's: each round starts by reading the database's now(), so replicas whose
  wall clocks drift agree on what is due. Tests inject a clock instead (`clock_time`), to move
  time forward rather than wait for it.
- A moment fires only once it is settled (watermark.py): every reply or resolution from before
  it has been applied, so one still waiting in Kafka after downtime or lag stops the clock
  instead of being beaten to it. Warnings wait as breaches do (a warning about a clock already
  stopped would be as false); both come at least the grace after their moment.
"""

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

from incident_events import new_event
from incident_kit.clock import Clock
from incident_kit.outbox import add_events
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from sla import domain, repository
from sla.calendars import calendar_named
from sla.metrics import SlaMetrics
from sla.progress import GroupProgress
from sla.tables import outbox
from sla.watermark import Watermark

SOURCE = "/sla"
# Floor of a wait, so clocks held by another replica do not make this one spin.
MIN_WAIT_SECONDS = 0.05
log = logging.getLogger(__name__)

TimeSource = Callable[[], Awaitable[datetime]]


def database_time(sessions: async_sessionmaker[AsyncSession]) -> TimeSource:
    """The timer's time in production: PostgreSQL's now()."""

    async def now() -> datetime:
        async with sessions() as session:
            return await repository.database_now(session)

    return now


def clock_time(clock: Clock) -> TimeSource:
    """The timer's time from an injected clock: tests move a FrozenClock."""

    async def now() -> datetime:
        return clock.now()

    return now


class ClockTimer:
    def __init__(
        self,
        *,
        sessions: async_sessionmaker[AsyncSession],
        now: TimeSource,
        progress: GroupProgress,
        sla_metrics: SlaMetrics,
        grace: timedelta,
        tick_seconds: float,
        batch_size: int,
    ) -> None:
        self._sessions = sessions
        self._now = now
        self._progress = progress
        self._metrics = sla_metrics
        self._grace = grace
        self._tick = tick_seconds
        self._batch_size = batch_size
        self.watermark = Watermark()

    async def fire_due_clocks(self, *, now: datetime | None = None) -> int:
        """One round at `now` (by default the timer's time): settle what can be, then fire one
        batch of settled clocks in one transaction; returns how many were fired."""
        now = await self._now() if now is None else now
        await self._settle(now)
        settled = self.watermark.settled(self._grace)
        if settled is None:
            return 0  # nothing known yet of what the consumer has applied
        async with self._sessions.begin() as session:
            clocks = await repository.due_clocks(session, settled=settled, limit=self._batch_size)
            outcomes = [
                domain.fire(c, now, settled=settled, calendar=calendar_named(c.calendar))
                for c in clocks
            ]
            await repository.save_clocks(session, clocks=[c for o in outcomes for c in o.clocks])
            events = [
                new_event(fact, source=SOURCE, now=now, correlation_id=clock.correlation_id)
                for clock, outcome in zip(clocks, outcomes, strict=True)
                for fact in outcome.events
            ]
            await add_events(session, outbox, events)
        self._metrics.count(event.data for event in events)
        return len(clocks)

    async def run(self) -> None:
        """Fire due clocks until cancelled, sleeping until the next moment or at most a tick."""
        while True:
            try:
                now = await self._now()
                if await self.fire_due_clocks(now=now) >= self._batch_size:
                    continue  # a backlog (e.g. after downtime): drain it before sleeping
                wait = await self._seconds_to_next_fire(now)
            except Exception:
                log.exception("SLA timer round failed; retrying after a tick")
                wait = self._tick
            await asyncio.sleep(wait)

    async def _settle(self, now: datetime) -> None:
        """Advance the watermark from Kafka, only while a clock's moment waits on it."""
        async with self._sessions() as session:
            earliest = await repository.earliest_next_fire(session)
        if not self.watermark.waits_for_kafka(earliest, now, self._grace):
            return
        try:
            fresh = await self._progress.snapshot(now)
            committed = await self._progress.committed()  # after the ends, never before
        except Exception:
            # Nothing proves the moments settled: they wait, and are not fired on a guess.
            log.warning("could not read the consumer's progress from Kafka", exc_info=True)
            return
        self.watermark = self.watermark.advance(fresh, committed)

    async def _seconds_to_next_fire(self, now: datetime) -> float:
        async with self._sessions() as session:
            earliest = await repository.earliest_next_fire(session)
        if earliest is None or earliest + self._grace <= now:
            return self._tick  # nothing running, or a moment waits for the consumer
        return min(
            self._tick, max((earliest + self._grace - now).total_seconds(), MIN_WAIT_SECONDS)
        )
