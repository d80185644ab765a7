"""Retention of rows that are needed only for a while (the inbox's claims, intake's
Idempotency-Keys): each process, once a minute (`<SERVICE>_RETENTION_PRUNE_SECONDS`), deletes
the rows older than the retention by their age column, oldest first, a chunk per transaction,
so such a table holds the retention's rows and stops growing with every event or request ever
seen.

Oldest first, so the plan walks the age column's index from its start and stops at the cutoff:
a prepared statement's generic plan cannot tell how many rows a cutoff passes and, without the
order, would read the whole table. Between chunks the pruning pauses, so a large backlog (the
first run on an old table) does not take the database from the live load. Rows another replica
is pruning at the same moment are skipped (SKIP LOCKED), not waited for.
"""

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from prometheus_client import Counter
from sqlalchemy import Column, any_, delete, func, literal_column, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.sql.elements import ColumnClause

from incident_kit.clock import Clock

log = logging.getLogger(__name__)
PAUSE_BETWEEN_CHUNKS_SECONDS = 0.1


async def prune_older(
    session: AsyncSession, age: Column[datetime], *, before: datetime, limit: int
) -> int:
    """Delete up to `limit` rows of `age`'s table whose `age` is before the cutoff, oldest
    first; returns how many went."""
    table = age.table
    address: ColumnClause[Any] = literal_column("ctid")  # the rows found, deleted where they lie
    old = (
        select(address)
        .select_from(table)
        .where(age < before)
        .order_by(age)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    result = await session.execute(
        delete(table).where(address == any_(func.array(old.scalar_subquery())))
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


@dataclass(frozen=True)
class Retention:
    """Keeps the rows of `age`'s table for `keep`, pruned `every` seconds and counted in
    `pruned`."""

    sessions: async_sessionmaker[AsyncSession]
    age: Column[datetime]
    clock: Clock
    keep: timedelta
    pruned: Counter
    every: float = 60.0
    chunk: int = 5000

    async def prune(self) -> int:
        """Delete every row older than the retention; returns how many went."""
        cutoff = self.clock.now() - self.keep
        total = 0
        while True:
            async with self.sessions.begin() as session:
                pruned = await prune_older(session, self.age, before=cutoff, limit=self.chunk)
            total += pruned
            self.pruned.inc(pruned)
            if pruned < self.chunk:
                return total
            await asyncio.sleep(PAUSE_BETWEEN_CHUNKS_SECONDS)

    async def run(self) -> None:
        """Prune every so often while the service runs; a failed round is tried again later."""
        table = self.age.table
        while True:
            await asyncio.sleep(self.every)
            try:
                pruned = await self.prune()
            except asyncio.CancelledError:
                raise
            except Exception:  # an outage: the next round prunes what this one could not
                log.warning("could not prune %s; trying again later", table, exc_info=True)
                continue
            if pruned:
                log.info("pruned %d rows of %s older than %s", pruned, table, self.keep)
