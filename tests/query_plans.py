"""What a hot query reads, checked without timing: a migrated database seeded with many rows
and analyzed (a test module marked `seeded(Seed(...))` receives `seeded_sessions` on it), the
generic plan PostgreSQL makes for a prepared statement executed often, and the scans a
transaction made of a table (its own statistics, pg_stat_xact_user_tables)."""

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

import harness
import pytest
from incident_kit.database import create_engine, create_session_factory
from sqlalchemy import TextClause, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

T = TypeVar("T")
_TABLE_READS = text(
    "SELECT seq_scan, idx_scan, idx_tup_fetch FROM pg_stat_xact_user_tables"
    " WHERE relid = CAST(:table AS regclass)"
)


@dataclass(frozen=True)
class TableReads:
    sequential_scans: int
    index_scans: int
    rows_fetched_by_index: int


@dataclass(frozen=True)
class Seed:
    """A service's schema and the rows a test plans against: `statement` run with `params`."""

    name: str
    service: str
    statement: TextClause
    params: Mapping[str, Any]


def seeded(seed: Seed) -> pytest.MarkDecorator:
    """Mark a test (or a module, as `pytestmark`) to receive `seeded_sessions` of `seed`."""
    return pytest.mark.parametrize("seeded_sessions", [seed], indirect=True, ids=[seed.name])


@pytest.fixture
async def seeded_sessions(
    fresh_database_url: str, request: pytest.FixtureRequest
) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    """Sessions on a fresh database migrated for the parametrized `Seed`'s service, seeded
    once and analyzed as autovacuum would."""
    seed: Seed = request.param
    await asyncio.to_thread(harness.migrate, fresh_database_url, seed.service)
    engine = create_engine(fresh_database_url)
    async with engine.begin() as connection:
        await connection.execute(seed.statement, dict(seed.params))
    async with engine.connect() as connection:
        await connection.execute(text("ANALYZE"))
    try:
        yield create_session_factory(engine)
    finally:
        await engine.dispose()


async def generic_reads(
    sessions: async_sessionmaker[AsyncSession],
    table: str,
    query: Callable[[AsyncSession], Awaitable[T]],
) -> tuple[T, TableReads]:
    """What `query` answers in a transaction of its own, and the scans it made of `table`,
    planned as a prepared statement is after its fifth run: once, for any parameter values."""
    async with sessions.begin() as session:
        await session.execute(text("SET LOCAL plan_cache_mode = force_generic_plan"))
        answer = await query(session)
        reads = (await session.execute(_TABLE_READS, {"table": table})).one()
    return answer, TableReads(*reads)
