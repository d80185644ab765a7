"""The SLA timer: fires the warnings and breaches of running clocks when their moment comes.

Clocks live in PostgreSQL and carry their next moment (`next_fire_at`), so the timer keeps no
state: each round takes the clocks whose moment has passed, FOR UPDATE SKIP LOCKED so replicas
share them, and after a restart overdue clocks fire at once.
"""

import asyncio
import logging
from datetime import datetime

from incident_events import new_event
from incident_kit.clock import Clock
from incident_kit.outbox import add_events
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from sla import domain, repository
from sla.calendars import calendar_named
from sla.metrics import SlaMetrics
from sla.tables import outbox

SOURCE = "/sla"
# Floor of a wait, so clocks held by another replica do not make this one spin.
MIN_WAIT_SECONDS = 0.05
log = logging.getLogger(__name__)


class ClockTimer:
    def __init__(
        self,
        *,
        sessions: async_sessionmaker[AsyncSession],
        clock: Clock,
        sla_metrics: SlaMetrics,
        tick_seconds: float,
        batch_size: int,
    ) -> None:
        self._sessions = sessions
        self._clock = clock
        self._metrics = sla_metrics
        self._tick = tick_seconds
        self._batch_size = batch_size

    async def fire_due_clocks(self, *, now: datetime) -> int:
        """Fire one batch of due clocks in one transaction; returns how many were fired."""
        async with self._sessions.begin() as session:
            clocks = await repository.due_clocks(session, now=now, limit=self._batch_size)
            outcomes = [domain.fire(c, now, calendar=calendar_named(c.calendar)) for c in clocks]
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
                now = self._clock.now()
                if await self.fire_due_clocks(now=now) >= self._batch_size:
                    continue  # a backlog (e.g. after downtime): drain it before sleeping
                wait = await self._seconds_to_next_fire(now)
            except Exception:
                log.exception("SLA timer round failed; retrying after a tick")
                wait = self._tick
            await asyncio.sleep(wait)

    async def _seconds_to_next_fire(self, now: datetime) -> float:
        async with self._sessions() as session:
            self._metrics.running_clocks.set(await repository.count_running(session))
            earliest = await repository.earliest_next_fire(session)
        if earliest is None:
            return self._tick
        return min(self._tick, max((earliest - now).total_seconds(), MIN_WAIT_SECONDS))
