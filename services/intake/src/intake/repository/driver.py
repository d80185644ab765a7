"""Running the report path's SQL text on the asyncpg connection beneath a session, inside the
session's transaction.

Why: through an AsyncSession a statement costs about 0.3 ms of client CPU (session, execution
context, result machinery, greenlet switches); the same prepared statement on the driver about
0.08 ms. A group of reports runs about ten statements, and at everyday rates a group holds one
or two reports, so this was most of what intake spent per report.

Only SQL text (`TextClause`) goes this way, compiled once by SQLAlchemy's asyncpg dialect into
the driver's `$n` form; rows come back as asyncpg Records (by name or position, not by
attribute). A statement the server refuses raises SQLAlchemy's DBAPIError, as through the
session, so callers and the HTTP error handlers see one kind; a lost connection raises the
driver's own error, which `incident_kit.errors` classifies as infrastructure like SQLAlchemy's.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

import asyncpg
from sqlalchemy import TextClause
from sqlalchemy.dialects.postgresql.asyncpg import dialect as asyncpg_dialect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

_DIALECT = asyncpg_dialect()  # type: ignore[no-untyped-call]


@dataclass(frozen=True)
class _DriverSql:
    sql: str
    names: tuple[str, ...]  # the parameter of each $n, in order


@cache  # statements are module-level constants: each is compiled once
def _compiled(statement: TextClause) -> _DriverSql:
    compiled = statement.compile(dialect=_DIALECT)
    return _DriverSql(compiled.string, tuple(compiled.positiontup or ()))


async def fetch(
    session: AsyncSession, statement: TextClause, params: Mapping[str, Any]
) -> list[asyncpg.Record]:
    """The statement's rows, run in the session's transaction."""
    driver_sql = _compiled(statement)
    connection = await _in_transaction(session)
    values = [params[name] for name in driver_sql.names]
    try:
        rows: list[asyncpg.Record] = await connection.fetch(driver_sql.sql, *values)
    except asyncpg.PostgresError as error:
        # Parameters hidden: they hold reporters' names and addresses, and errors get logged.
        raise DBAPIError.instance(
            driver_sql.sql, values, error, asyncpg.PostgresError, hide_parameters=True
        ) from error
    return rows


async def _in_transaction(session: AsyncSession) -> asyncpg.Connection:
    connection = await session.connection()
    driver: asyncpg.Connection = (await connection.get_raw_connection()).driver_connection
    if not driver.is_in_transaction():
        # SQLAlchemy begins the driver's transaction at its own first statement; without one
        # yet, a statement here would run (and commit) alone.
        await connection.exec_driver_sql("SELECT 1")
    return driver
