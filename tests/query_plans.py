"""What a hot query reads, checked without timing: a migrated database seeded with many rows
and analyzed, the generic plan PostgreSQL makes for a prepared statement executed often, and
the scans a transaction made of a table (its own statistics, pg_stat_xact_user_tables)."""

import asyncio
import contextlib
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import Any

import harness
from incident_kit.database import create_engine, create_session_factory
from sqlalchemy import TextClause, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker


@dataclass(frozen=True)
class TableReads:
    sequential_scans: int
    index_scans: int
    rows_fetched_by_index: int


@contextlib.asynccontextmanager
async def seeded(
    database_url: str, service: str, seed: TextClause, params: Mapping[str, Any]
) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    """The service's schema with `seed` run once, then analyzed as autovacuum would."""
    await asyncio.to_thread(harness.migrate, database_url, service)
    engine = create_engine(database_url)
    async with engine.begin() as connection:
        await connection.execute(seed, dict(params))
    async with engine.connect() as connection:
        await connection.execute(text("ANALYZE"))
    try:
        yield create_session_factory(engine)
    finally:
        await engine.dispose()


async def plan_generically(session: AsyncSession) -> None:
    """Plan this transaction's statements as a prepared statement is after its fifth run:
    once, for any parameter values."""
    await session.execute(text("SET LOCAL plan_cache_mode = force_generic_plan"))


async def reads_of(session: AsyncSession, table: str) -> TableReads:
    """The scans this transaction has made of `table` so far."""
    row = (
        await session.execute(
            text(
                "SELECT seq_scan, idx_scan, idx_tup_fetch FROM pg_stat_xact_user_tables"
                " WHERE relid = CAST(:table AS regclass)"
            ),
            {"table": table},
        )
    ).one()
    return TableReads(*row)
