"""The running-clocks gauge, refreshed from the database on a slow loop of its own.

Counted in PostgreSQL so every replica reports the same cluster-wide number; counting is a walk
of the running-clocks index, fine every few seconds, wasteful on every timer round. Counting
per replica as clocks start and stop would only see that replica's share.
"""

import asyncio
import logging

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from sla import repository
from sla.metrics import SlaMetrics

log = logging.getLogger(__name__)


async def refresh_running_clocks(
    sessions: async_sessionmaker[AsyncSession], sla_metrics: SlaMetrics, *, every_seconds: float
) -> None:
    """Set the gauge now and then every `every_seconds`, until cancelled."""
    while True:
        try:
            async with sessions() as session:
                sla_metrics.running_clocks.set(await repository.count_running(session))
        except Exception:
            log.warning("could not count the running clocks", exc_info=True)
        await asyncio.sleep(every_seconds)
