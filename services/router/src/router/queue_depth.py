"""The queue_depth gauge, counted by the database: soon after the queue changed, at most once a
second however often it changes, and every `ROUTER_QUEUE_DEPTH_REFRESH_SECONDS` (15) on every
replica, also one that routes nothing for a while.

A count reads the whole queue's index. It was made in every transaction that queued or freed
something; in a storm that fills every agent, every report is queued, and each paid for a
count of a queue thousands deep. Now the transactions only say that the queue changed.
"""

import asyncio
import contextlib
import logging

from prometheus_client import Gauge
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from router import repository

log = logging.getLogger(__name__)
MIN_INTERVAL_SECONDS = 1.0


class QueueDepth:
    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], gauge: Gauge, refresh_seconds: float
    ) -> None:
        self._sessions, self._gauge, self._refresh = sessions, gauge, refresh_seconds
        self._changed = asyncio.Event()

    def changed(self) -> None:
        """The queue changed (after a commit): count it again soon."""
        self._changed.set()

    async def run(self) -> None:
        while True:
            self._changed.clear()  # a change from here on asks for the next count
            try:
                async with self._sessions() as session:
                    self._gauge.set(await repository.queue_depth(session))
            except Exception:  # the database may be briefly away; the next round retries
                log.warning("could not count the queue", exc_info=True)
            await asyncio.sleep(MIN_INTERVAL_SECONDS)  # a storm's changes share one count
            with contextlib.suppress(TimeoutError):
                wait = max(self._refresh - MIN_INTERVAL_SECONDS, 0)
                await asyncio.wait_for(self._changed.wait(), timeout=wait)
