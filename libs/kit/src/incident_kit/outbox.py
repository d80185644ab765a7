"""The transactional outbox: events are written in the same transaction as the state change,
and `OutboxRelay` publishes them with an idempotent producer.

A commit that wrote outbox rows wakes this process's relay (no NOTIFY inside every transaction);
the relay also polls, which finds rows other replicas committed. Only the relay holding the
outbox's advisory lock claims and publishes rows (`incident_kit.relay`), so the events of one
incident leave in commit order.

A row the broker will never take (too large, an invalid or forbidden topic, a payload that is
not JSON) is quarantined: `quarantined_at` and `error` say when and why, and it stays unpublished.
The later rows of its incident (same message key) are held behind it, so the incident's order
holds; everything else goes on. An operator releases a quarantined row (both columns back to
NULL) once the cause is fixed, and the relay publishes it and then the rows it held.
"""

import asyncio
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any

from incident_events import Event
from sqlalchemy import (
    BigInteger,
    Column,
    ColumnElement,
    DateTime,
    Identity,
    Index,
    MetaData,
    Table,
    Text,
    and_,
    bindparam,
    delete,
    exists,
    func,
    insert,
    or_,
    select,
)
from sqlalchemy.dialects.postgresql import ARRAY, UUID
from sqlalchemy.event import listen
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import Session
from sqlalchemy.sql.dml import Insert

from incident_kit import driver

log = logging.getLogger(__name__)


def outbox_table(metadata: MetaData) -> Table:
    table = Table(
        "outbox",
        metadata,
        Column("id", BigInteger, Identity(), primary_key=True),
        Column("event_id", UUID(as_uuid=True), nullable=False, unique=True),
        Column("topic", Text, nullable=False),
        Column("message_key", Text, nullable=False),
        Column("event_type", Text, nullable=False),
        Column("payload", Text, nullable=False),
        Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
        Column("published_at", DateTime(timezone=True)),
        # Set together when the relay gives up on a row for a reason retrying cannot cure.
        Column("quarantined_at", DateTime(timezone=True)),
        Column("error", Text),
    )
    Index("ix_outbox_unpublished", table.c.id, postgresql_where=table.c.published_at.is_(None))
    # Which incidents have a quarantined row, and from where on: the relay holds their later rows.
    Index(
        "ix_outbox_quarantined",
        table.c.message_key,
        table.c.id,
        postgresql_where=and_(table.c.quarantined_at.is_not(None), table.c.published_at.is_(None)),
    )
    return table


_WROTE_OUTBOX = "wrote_outbox"


def wake_relay_after_commits(
    sessions: async_sessionmaker[AsyncSession], wake: Callable[[], None]
) -> None:
    """Call `wake` after every commit of a session from `sessions` that wrote outbox rows."""

    def after_commit(session: Session) -> None:
        if session.info.pop(_WROTE_OUTBOX, False):
            wake()

    # A spurious wake (the rows were rolled back) costs the relay one empty query, no more.
    listen(sessions.kw["sync_session_class"], "after_commit", after_commit)


async def add_events(session: AsyncSession, table: Table, events: Iterable[Event[Any]]) -> None:
    """Record events to publish; they go out only if the surrounding transaction commits."""
    columns = event_columns(events)
    if not columns["event_id"]:
        return
    # On the driver: every handled event of every service writes here (incident_kit.driver).
    await driver.fetch(session, _insert_events(table), columns)
    wrote_outbox(session)


def event_columns(events: Iterable[Event[Any]]) -> dict[str, list[Any]]:
    """The outbox columns of the events as parallel arrays, named after the columns
    (`EVENT_COLUMNS`): for a statement of a service's own that writes them with other rows."""
    columns: dict[str, list[Any]] = {name: [] for name, _ in EVENT_COLUMNS}
    for event in events:
        columns["event_id"].append(event.id)
        columns["topic"].append(str(event.data.topic))
        columns["message_key"].append(event.subject)
        columns["event_type"].append(event.type)
        columns["payload"].append(event.model_dump_json())
    return columns


def insert_events_sql(table: Table, *, rows: str, alias: str) -> str:
    """SQL text putting in the outbox `table` the events of `rows`: a FROM clause whose `alias`
    has the EVENT_COLUMNS (bound as `event_columns` gives them) and a `position`, which orders
    the events' ids. For a service's statement that writes events with rows of its own, as one
    of its WITH queries; `wrote_outbox` then wakes the relay."""
    names = [name for name, _ in EVENT_COLUMNS]
    return (
        f"INSERT INTO {table.fullname} ({', '.join(names)})"
        f" SELECT {', '.join(f'{alias}.{name}' for name in names)}"
        f" FROM {rows} ORDER BY {alias}.position"
    )


def wrote_outbox(session: AsyncSession) -> None:
    """Wake the relay once the session commits: for a service's statement that wrote outbox
    rows (`event_columns`) without `add_events`."""
    session.info[_WROTE_OUTBOX] = True


# The columns an event fills, with their PostgreSQL types.
EVENT_COLUMNS = (
    ("event_id", "uuid"),
    ("topic", "text"),
    ("message_key", "text"),
    ("event_type", "text"),
    ("payload", "text"),
)
_EVENT_COLUMNS = tuple(name for name, _ in EVENT_COLUMNS)


@cache  # one statement per outbox table, built once; its text is the same for any row count
def _insert_events(table: Table) -> Insert:
    arrays = [bindparam(name, type_=ARRAY(table.c[name].type)) for name in _EVENT_COLUMNS]
    rows = (
        func.unnest(*arrays)
        .table_valued(*_EVENT_COLUMNS, with_ordinality="position")
        .render_derived()
    )
    # Ids follow the events' order: the relay publishes an incident's events in id order.
    in_order = select(*(rows.c[name] for name in _EVENT_COLUMNS)).order_by(rows.c.position)
    return insert(table).from_select(list(_EVENT_COLUMNS), in_order)


async def prune_published(session: AsyncSession, table: Table, *, created_before: datetime) -> int:
    """Delete the published events at the head of the outbox created before the cutoff.

    Ids grow with commit order, so the old published rows are the head of the primary key: the
    first row that is young, or still to be published, bounds the delete, and no scan goes past
    it. Quarantined rows and the rows held behind them do not bound it (they may stay for
    days) and are not deleted.
    """
    waiting = and_(
        table.c.published_at.is_(None),
        table.c.quarantined_at.is_(None),
        ~held_behind_quarantine(table),
    )
    boundary = (
        select(table.c.id)
        .where(or_(waiting, table.c.created_at >= created_before))
        .order_by(table.c.id)
        .limit(1)
        .scalar_subquery()
    )
    last = select(func.max(table.c.id) + 1).scalar_subquery()
    result = await session.execute(
        delete(table).where(
            table.c.id < func.coalesce(boundary, last), table.c.published_at.is_not(None)
        )
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


def held_behind_quarantine(table: Table) -> ColumnElement[bool]:
    """True for a row with an earlier quarantined, unpublished row of the same incident."""
    earlier = table.alias("earlier")
    return exists().where(
        earlier.c.message_key == table.c.message_key,
        earlier.c.id < table.c.id,
        earlier.c.quarantined_at.is_not(None),
        earlier.c.published_at.is_(None),
    )


@dataclass(frozen=True)
class OutboxBacklog:
    """The unpublished rows: those to publish, the quarantined, and those held behind them."""

    pending: int
    quarantined: int
    held: int


async def outbox_backlog(session: AsyncSession, table: Table) -> OutboxBacklog:
    quarantined = table.c.quarantined_at.is_not(None)
    held = held_behind_quarantine(table)
    query = select(
        func.count().filter(~quarantined, ~held),
        func.count().filter(quarantined),
        func.count().filter(~quarantined, held),
    ).where(table.c.published_at.is_(None))
    pending, quarantined_rows, held_rows = (await session.execute(query)).one()
    return OutboxBacklog(int(pending), int(quarantined_rows), int(held_rows))


async def wait_for_wakeup(wakeup: asyncio.Event, seconds: float) -> None:
    """Wait for a NOTIFY or the poll interval, whichever comes first."""
    try:
        await asyncio.wait_for(wakeup.wait(), seconds)
    except TimeoutError:
        pass
    wakeup.clear()
