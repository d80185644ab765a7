"""Pruning the inbox: each process, once a minute, deletes the claims older than the retention
(`<SERVICE>_INBOX_RETENTION_HOURS`), a chunk per transaction, so the table stops growing with
every event ever consumed. Between chunks it pauses, so a large backlog (the first run on an old
inbox) does not take the database from the live load. Replicas skip each other's chunks."""

import asyncio
import logging
from dataclasses import dataclass
from datetime import timedelta

from prometheus_client import Counter
from sqlalchemy import Table
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from incident_kit.clock import Clock
from incident_kit.inbox import prune_processed

log = logging.getLogger(__name__)
PRUNE_EVERY_SECONDS = 60.0
PAUSE_BETWEEN_CHUNKS_SECONDS = 0.1


@dataclass(frozen=True)
class InboxRetention:
    sessions: async_sessionmaker[AsyncSession]
    table: Table
    clock: Clock
    retention: timedelta
    pruned: Counter
    chunk: int = 5000

    async def prune(self) -> int:
        """Delete every claim older than the retention; returns how many went."""
        cutoff = self.clock.now() - self.retention
        total = 0
        while True:
            async with self.sessions.begin() as session:
                pruned = await prune_processed(
                    session, self.table, processed_before=cutoff, limit=self.chunk
                )
            total += pruned
            self.pruned.inc(pruned)
            if pruned < self.chunk:
                return total
            await asyncio.sleep(PAUSE_BETWEEN_CHUNKS_SECONDS)

    async def run(self) -> None:
        """Prune once a minute while the service runs; a failed round is tried again later."""
        while True:
            await asyncio.sleep(PRUNE_EVERY_SECONDS)
            try:
                pruned = await self.prune()
            except asyncio.CancelledError:
                raise
            except Exception:  # an outage: the next round prunes what this one could not
                log.warning("could not prune the inbox; trying again in a minute", exc_info=True)
                continue
            if pruned:
                log.info("pruned %d inbox claims older than %s", pruned, self.retention)
