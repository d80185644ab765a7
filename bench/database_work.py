"""What PostgreSQL did per incident during a benchmark: statements (each one a round trip), from
`pg_stat_statements` when the server loads it (the local stack's does), and transactions and rows
inserted, updated and deleted, from `pg_stat_database`.

These are counts. At a rate where every event is a batch of its own (10/s) they do not move with
this machine's noise, so a change that saves a statement per incident shows in them where a CPU
reading of a few percent cannot; at higher rates they depend on how events share batches, which
moves with the machine's speed. They are gross: the stack's timers and gauges (a few
transactions a second when idle) are counted too.
"""

import asyncio
from dataclasses import dataclass

import asyncpg
from sqlalchemy.engine import make_url

# A backend reports its counts when it goes idle, at most once a second, and a report so held
# back within ten seconds (PostgreSQL's PGSTAT_IDLE_INTERVAL): counts read that long after the
# work include all of it.
REPORTED_WITHIN_SECONDS = 11.0

_COUNTS = (
    "SELECT xact_commit, xact_rollback, tup_inserted, tup_updated, tup_deleted "
    "FROM pg_stat_database WHERE datname = current_database()"
)


# Every statement of this database, BEGIN and COMMIT included (utility statements are tracked).
_STATEMENTS = (
    "SELECT coalesce(sum(calls), 0)::bigint FROM pg_stat_statements "
    "WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())"
)


@dataclass(frozen=True)
class DatabaseCounts:
    commits: int
    rollbacks: int
    inserted: int
    updated: int
    deleted: int
    statements: int | None = None  # None: the server does not load pg_stat_statements


async def read_counts(database_url: str, *, after_work: bool = True) -> DatabaseCounts:
    """The database's counts; `after_work`: first wait until every backend has reported."""
    if after_work:
        await asyncio.sleep(REPORTED_WITHIN_SECONDS)
    dsn = make_url(database_url).set(drivername="postgresql").render_as_string(False)
    connection = await asyncpg.connect(dsn)
    try:
        row = await connection.fetchrow(_COUNTS)
        statements = await _statements(connection)
    finally:
        await connection.close()
    commits, rollbacks, inserted, updated, deleted = row
    return DatabaseCounts(commits, rollbacks, inserted, updated, deleted, statements)


async def _statements(connection: asyncpg.Connection) -> int | None:
    loaded = await connection.fetchval("SELECT current_setting('shared_preload_libraries')")
    if "pg_stat_statements" not in loaded:
        return None
    await connection.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
    return int(await connection.fetchval(_STATEMENTS))
