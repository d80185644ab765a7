"""The transactional outbox: events are written in the same transaction as the state change,
and `OutboxRelay` publishes them with an idempotent producer.

A commit that wrote outbox rows wakes this process's relay (no NOTIFY inside every transaction);
the relay also polls, which finds rows other replicas committed. Rows are claimed with
FOR UPDATE SKIP LOCKED, and only the relay holding the outbox's advisory lock publishes
(`incident_kit.relay`), so the events of one incident leave in commit order.
"""

import asyncio
import logging
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import Any

from incident_events import Event
from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Identity,
    Index,
    MetaData,
    Table,
    Text,
    delete,
    func,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.event import listen
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import Session

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
    )
    Index("ix_outbox_unpublished", table.c.id, postgresql_where=table.c.published_at.is_(None))
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
    rows = [
        {
            "event_id": event.id,
            "topic": str(event.data.topic),
            "message_key": event.subject,
            "event_type": event.type,
            "payload": event.model_dump_json(),
        }
        for event in events
    ]
    if not rows:
        return
    await session.execute(insert(table), rows)
    session.info[_WROTE_OUTBOX] = True


async def mark_published(
    session: AsyncSession, table: Table, *, ids: Sequence[int], now: datetime
) -> None:
    await session.execute(update(table).where(table.c.id.in_(ids)).values(published_at=now))


async def prune_published(session: AsyncSession, table: Table, *, created_before: datetime) -> int:
    """Delete the run of published events at the head of the outbox created before the cutoff.

    Ids grow with commit order, so the old published rows are the head of the primary key: the
    first row that is unpublished or young bounds the delete, and no scan goes past it.
    """
    boundary = (
        select(table.c.id)
        .where(or_(table.c.published_at.is_(None), table.c.created_at >= created_before))
        .order_by(table.c.id)
        .limit(1)
        .scalar_subquery()
    )
    last = select(func.max(table.c.id) + 1).scalar_subquery()
    result = await session.execute(delete(table).where(table.c.id < func.coalesce(boundary, last)))
    return int(result.rowcount)  # type: ignore[attr-defined]


async def count_unpublished(session: AsyncSession, table: Table) -> int:
    query = select(func.count()).select_from(table).where(table.c.published_at.is_(None))
    return int((await session.execute(query)).scalar_one())


async def wait_for_wakeup(wakeup: asyncio.Event, seconds: float) -> None:
    """Wait for a NOTIFY or the poll interval, whichever comes first."""
    try:
        await asyncio.wait_for(wakeup.wait(), seconds)
    except TimeoutError:
        pass
    wakeup.clear()
