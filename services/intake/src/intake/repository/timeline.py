"""The SQL of incidents' timelines: the facts of each change kept as their event payloads."""

from collections.abc import Sequence
from datetime import datetime

from incident_events import EventData, registered_types
from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from intake.domain import is_public
from intake.tables import TimelineRow


async def add_to_timeline(
    session: AsyncSession, *, facts: Sequence[EventData], now: datetime
) -> None:
    if not facts:
        return
    rows = [
        {
            "incident_id": fact.incident_id,
            "event_type": fact.event_type,
            "public": is_public(fact),
            "recorded_at": now,
            "data": fact.model_dump(mode="json"),
        }
        for fact in facts
    ]
    await session.execute(insert(TimelineRow), rows)


async def public_timeline(session: AsyncSession, *, incident_id: str) -> list[EventData]:
    """The facts its customer may see, in the order they were recorded."""
    query = (
        select(TimelineRow.event_type, TimelineRow.data)
        .where(TimelineRow.incident_id == incident_id, TimelineRow.public)
        .order_by(TimelineRow.entry_id)
    )
    types = registered_types()
    return [
        types[event_type].model_validate(data) for event_type, data in await session.execute(query)
    ]
