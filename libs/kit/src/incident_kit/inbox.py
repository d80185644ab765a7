"""The inbox: which events a consumer has processed, recorded in the transaction of the effects,
so a redelivered event changes nothing twice."""

from uuid import UUID

from sqlalchemy import Column, DateTime, MetaData, Table, Text, func
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


async def claim_event(
    session: AsyncSession, table: Table, *, consumer: str, event_id: UUID, event_type: str
) -> bool:
    """True the first time this consumer sees the event; False on every redelivery."""
    statement = (
        insert(table)
        .values(consumer=consumer, event_id=event_id, event_type=event_type)
        .on_conflict_do_nothing()
        .returning(table.c.event_id)
    )
    return (await session.execute(statement)).first() is not None
