"""The inbox: which events a consumer has processed, recorded in the transaction of the effects,
so a redelivered event changes nothing twice. A batch claims all its events in one statement,
whose text is the same for every batch size (arrays, unnested), so it is compiled and prepared
once, not once per size.

A claim is kept for the retention (`<SERVICE>_INBOX_RETENTION_HOURS`) and then pruned
(`incident_kit.retention`), so the table holds the retention's events, not every event ever
consumed. Kafka redelivers only what a group has not committed, or a whole topic from its start
when a group's offsets are lost: the retention must be longer than the topics keep records.
"""

from collections.abc import Sequence
from functools import cache
from typing import Any
from uuid import UUID

from incident_events import CloudEvent
from sqlalchemy import (
    Column,
    DateTime,
    Index,
    MetaData,
    Table,
    Text,
    bindparam,
    delete,
    func,
    select,
)
from sqlalchemy.dialects.postgresql import ARRAY, insert
from sqlalchemy.dialects.postgresql import UUID as PgUUID
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.dml import ReturningInsert

from incident_kit import driver


def inbox_table(metadata: MetaData) -> Table:
    table = Table(
        "inbox",
        metadata,
        Column("consumer", Text, primary_key=True),
        Column("event_id", PgUUID(as_uuid=True), primary_key=True),
        Column("event_type", Text, nullable=False),
        Column("processed_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    )
    # The pruning finds the old claims here; the primary key's random ids have no age order.
    Index("ix_inbox_processed_at", table.c.processed_at)
    return table


async def claim_events(
    session: AsyncSession, table: Table, *, consumer: str, events: Sequence[CloudEvent]
) -> set[UUID]:
    """The ids among `events` this consumer sees for the first time (one statement)."""
    if not events:
        return set()
    # On the driver: usually the batch's first statement, and the hottest one of every service.
    claimed = await driver.fetch(
        session,
        _claim(table),
        {"consumer": consumer, "ids": [e.id for e in events], "types": [e.type for e in events]},
    )
    return {row.event_id for row in claimed}


@cache  # one statement per inbox table, built once
def _claim(table: Table) -> ReturningInsert[Any]:
    rows = (
        func.unnest(
            bindparam("ids", type_=ARRAY(PgUUID(as_uuid=True))),
            bindparam("types", type_=ARRAY(Text)),
        )
        .table_valued("event_id", "event_type")
        .render_derived()
    )
    return (
        insert(table)
        .from_select(
            ["consumer", "event_id", "event_type"],
            select(bindparam("consumer", type_=Text), rows.c.event_id, rows.c.event_type),
        )
        .on_conflict_do_nothing()
        .returning(table.c.event_id)
    )


async def release_claim(
    session: AsyncSession, table: Table, *, consumer: str, event_id: UUID
) -> None:
    """Forget a claim whose handling was dead-lettered, so a replay of it is handled anew."""
    await session.execute(
        delete(table).where(table.c.consumer == consumer, table.c.event_id == event_id)
    )
