"""The inbox: which events a consumer has processed, recorded in the transaction of the effects,
so a redelivered event changes nothing twice. A batch claims all its events in one statement."""

from collections.abc import Sequence
from uuid import UUID

from incident_events import CloudEvent
from sqlalchemy import Column, DateTime, MetaData, Table, Text, delete, func
from sqlalchemy.dialects.postgresql import UUID as PgUUID
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession


def inbox_table(metadata: MetaData) -> Table:
    return Table(
        "inbox",
        metadata,
        Column("consumer", Text, primary_key=True),
        Column("event_id", PgUUID(as_uuid=True), primary_key=True),
        Column("event_type", Text, nullable=False),
        Column("processed_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    )


async def claim_events(
    session: AsyncSession, table: Table, *, consumer: str, events: Sequence[CloudEvent]
) -> set[UUID]:
    """The ids among `events` this consumer sees for the first time (one statement)."""
    if not events:
        return set()
    statement = (
        insert(table)
        .values([{"consumer": consumer, "event_id": e.id, "event_type": e.type} for e in events])
        .on_conflict_do_nothing()
        .returning(table.c.event_id)
    )
    return set((await session.execute(statement)).scalars())


async def release_claim(
    session: AsyncSession, table: Table, *, consumer: str, event_id: UUID
) -> None:
    """Forget a claim whose handling was dead-lettered, so a replay of it is handled anew."""
    await session.execute(
        delete(table).where(table.c.consumer == consumer, table.c.event_id == event_id)
    )
