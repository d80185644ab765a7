"""Running a hot path's statements on the asyncpg connection beneath a session, inside the
session's transaction.

Why: through an AsyncSession a statement costs about 0.3 ms of client CPU (session, execution
context, result machinery, greenlet switches); the same prepared statement on the driver about
0.08 ms. A service's handler runs a handful per event, and at everyday rates a batch holds one
or two events, so this was much of what an event cost.

A statement (SQL text or a Core statement) is compiled once by SQLAlchemy's asyncpg dialect
into the driver's `$n` form; its literal values and SQLAlchemy's bind processing of each type
are applied as SQLAlchemy would. Rows are asyncpg Records that also answer their columns as
attributes, as SQLAlchemy's rows do. A statement the server refuses raises the DBAPIError
SQLAlchemy's asyncpg dialect would raise through the session (IntegrityError for a violated
constraint, ProgrammingError for a syntax or access error), so callers and the HTTP error
handlers see one kind; a lost connection raises the driver's own error, which
`incident_kit.errors` classifies as infrastructure like SQLAlchemy's.

A statement here may be the transaction's first: the transaction is then begun as SQLAlchemy's
asyncpg adapter begins it at its own first statement, so the session commits or rolls it back.

A change whose rows nobody reads (`write`) may be held instead, on a session that holds them
(`hold_writes`: the kit's consumer does, for a batch): `run_held` then runs the held changes in
their order, each run of one statement as one asyncpg `executemany`, which pipelines them, so a
batch's changes of one kind cost one round trip instead of one each.
"""

import itertools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

import asyncpg
from sqlalchemy.dialects.postgresql.asyncpg import dialect as asyncpg_dialect
from sqlalchemy.exc import DBAPIError, IntegrityError, ProgrammingError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.expression import ClauseElement

# Where a session keeps its transaction's driver connection: (the root transaction, the driver).
_KEPT = "incident_kit.driver.connection"
# Where a session that holds its changes keeps them: a list of (statement, arguments).
_HELD = "incident_kit.driver.held"
_DIALECT = asyncpg_dialect()  # type: ignore[no-untyped-call]
# As SQLAlchemy's asyncpg dialect translates the driver's errors; any other is a DBAPIError.
_TRANSLATED: tuple[tuple[type[Exception], type[DBAPIError]], ...] = (
    (asyncpg.IntegrityConstraintViolationError, IntegrityError),
    (asyncpg.SyntaxOrAccessError, ProgrammingError),
)


class Row(asyncpg.Record):  # type: ignore[misc]  # asyncpg has no type hints
    """A row whose columns are also attributes (`row.incident_id`), as in SQLAlchemy."""

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None


@dataclass(frozen=True)
class _DriverStatement:
    compiled: SQLCompiler
    names: tuple[str, ...]  # the parameter of each $n, in order
    processors: tuple[Callable[[Any], Any] | None, ...]

    def arguments(self, params: Mapping[str, Any]) -> list[Any]:
        values = self.compiled.construct_params(dict(params))
        return [
            value if process is None else process(value)
            for value, process in zip(
                (values[name] for name in self.names), self.processors, strict=True
            )
        ]


@cache  # statements are module-level constants: each is compiled once per set of columns
def _compiled(statement: ClauseElement, column_keys: tuple[str, ...] | None) -> _DriverStatement:
    compiled = statement.compile(
        dialect=_DIALECT, column_keys=None if column_keys is None else list(column_keys)
    )
    assert isinstance(compiled, SQLCompiler)
    names = tuple(compiled.positiontup or ())
    processors = tuple(compiled.binds[name].type.bind_processor(_DIALECT) for name in names)
    return _DriverStatement(compiled, names, processors)


async def fetch(
    session: AsyncSession,
    statement: ClauseElement,
    params: Mapping[str, Any],
    *,
    values_of: Sequence[str] | None = None,
) -> list[Row]:
    """The statement's rows, run in the session's transaction. `values_of`: for an INSERT or
    UPDATE whose columns come with each execution, the columns given (as `column_keys`)."""
    return await _run(await _in_transaction(session), statement, params, values_of)


async def fetch_alone(
    session: AsyncSession, statement: ClauseElement, params: Mapping[str, Any]
) -> list[Row]:
    """The statement's rows, run as a transaction of its own: no BEGIN and no COMMIT, two round
    trips fewer, for a change that is one statement (data-modifying CTEs make many one). On a
    session not in a transaction (`sessions()`, not `sessions.begin()`); it commits durably
    before this returns, as any transaction of the session would."""
    connection = await connection_of(session)
    if connection.is_in_transaction():
        raise RuntimeError("fetch_alone on a session in a transaction: use fetch")
    return await _run(connection, statement, params, None)


async def write(
    session: AsyncSession,
    statement: ClauseElement,
    params: Mapping[str, Any],
    *,
    values_of: Sequence[str] | None = None,
) -> None:
    """A change whose rows the caller does not need, in the session's transaction: run now, or,
    on a session that holds its changes (`hold_writes`), at the next `run_held`. So a caller
    never reads back what it wrote here; its error (a violated constraint, say) is raised by
    the `run_held` that runs it."""
    driver_statement = _compiled(statement, None if values_of is None else tuple(values_of))
    arguments = driver_statement.arguments(params)
    held = _held(session)
    if held is not None:
        held.append((driver_statement, arguments))
        return
    await _execute_many(await _in_transaction(session), driver_statement, [arguments])


def hold_writes(session: AsyncSession) -> None:
    """From now on the session's `write`s wait for `run_held`: for the session of one batch,
    whose transaction runs them before it commits."""
    session.info[_HELD] = []


async def run_held(session: AsyncSession) -> None:
    """Run the session's held changes in the order they were written, consecutive changes of
    one statement in one round trip."""
    held = _held(session)
    if not held:
        return
    writes, held[:] = list(held), []
    connection = await _in_transaction(session)
    for _, run in itertools.groupby(writes, key=lambda write: id(write[0])):
        statement_and_arguments = list(run)
        statement = statement_and_arguments[0][0]
        await _execute_many(connection, statement, [args for _, args in statement_and_arguments])


def drop_held(session: AsyncSession) -> None:
    """Forget the held changes: their transaction, or savepoint, is being rolled back."""
    held = _held(session)
    if held is not None:
        held.clear()


def _held(session: AsyncSession) -> list[tuple[_DriverStatement, list[Any]]] | None:
    """The session's held changes; None when it does not hold them."""
    held: list[tuple[_DriverStatement, list[Any]]] | None = session.info.get(_HELD)
    return held


async def _execute_many(
    connection: asyncpg.Connection, statement: _DriverStatement, arguments: list[list[Any]]
) -> None:
    try:
        await connection.executemany(statement.compiled.string, arguments)
    except asyncpg.PostgresError as error:
        raise _translated(error, statement, arguments) from error


async def _run(
    connection: asyncpg.Connection,
    statement: ClauseElement,
    params: Mapping[str, Any],
    values_of: Sequence[str] | None,
) -> list[Row]:
    driver_statement = _compiled(statement, None if values_of is None else tuple(values_of))
    arguments = driver_statement.arguments(params)
    try:
        rows: list[Row] = await connection.fetch(
            driver_statement.compiled.string, *arguments, record_class=Row
        )
    except asyncpg.PostgresError as error:
        raise _translated(error, driver_statement, arguments) from error
    return rows


def _translated(
    error: asyncpg.PostgresError, statement: _DriverStatement, arguments: Any
) -> DBAPIError:
    """The DBAPIError SQLAlchemy's asyncpg dialect would raise for the driver's `error`."""
    kind: type[DBAPIError] = next(
        (sa for pg, sa in _TRANSLATED if isinstance(error, pg)), DBAPIError
    )
    # Parameters hidden: they may hold personal data, and errors get logged.
    return kind(statement.compiled.string, arguments, error, hide_parameters=True)


async def connection_of(session: AsyncSession) -> asyncpg.Connection:
    """The asyncpg connection beneath the session; outside a transaction a statement on it runs
    and commits alone."""
    connection = await session.connection()
    driver: asyncpg.Connection = (await connection.get_raw_connection()).driver_connection
    return driver


async def _in_transaction(session: AsyncSession) -> asyncpg.Connection:
    # The transaction's connection is looked up once and kept with the session for the rest
    # of that transaction: each lookup through the session costs two greenlet switches, about
    # 20 µs of CPU, and a batch runs several statements (savepoints stay on that connection).
    transaction = session.sync_session.get_transaction()
    kept = session.info.get(_KEPT)
    if kept is not None and transaction is not None and kept[0] is transaction:
        driver: asyncpg.Connection = kept[1]
        if driver.is_in_transaction():
            return driver
    driver = await _begun(session)
    session.info[_KEPT] = (session.sync_session.get_transaction(), driver)
    return driver


async def _begun(session: AsyncSession) -> asyncpg.Connection:
    connection = await session.connection()
    raw = await connection.get_raw_connection()
    driver: asyncpg.Connection = raw.driver_connection
    if not driver.is_in_transaction():
        # SQLAlchemy's asyncpg adapter begins the driver's transaction (a bare BEGIN) at its
        # first statement; with none run yet, a statement here would run and commit alone. So
        # begin it as that first statement would, and the session commits or rolls it back as
        # its own: one round trip where running a statement through the session to begin it
        # took two. (The adapter does nothing here on an AUTOCOMMIT connection, as it would.)
        adapted: Any = raw.dbapi_connection  # SQLAlchemy's AsyncAdapt_asyncpg_connection
        try:
            await adapted._start_transaction()
        except Exception:
            # Begun through the session instead, SQLAlchemy sees the failure as its own: a lost
            # connection (the server ended it, say) is then invalidated, so the pool replaces
            # it, and raised as a DBAPIError with `connection_invalidated`, as elsewhere.
            await connection.exec_driver_sql("SELECT 1")
    return driver
