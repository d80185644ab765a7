"""What the kit's integration tests share: a fixed time, an event to send, and a service schema
with the kit's tables in a fresh database."""

from datetime import UTC, datetime

from incident_events import Event, new_event
from incident_events.incidents import IncidentReopened
from sqlalchemy import MetaData, text
from sqlalchemy.ext.asyncio import AsyncEngine

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def reopened(incident_id: str) -> Event[IncidentReopened]:
    data = IncidentReopened(incident_id=incident_id, reopened_at=T0, reason="still broken")
    return new_event(data, source="/kit-test", now=T0)


async def create_tables(engine: AsyncEngine, metadata: MetaData) -> None:
    """Create the metadata's schema and its tables (what a service's migration does)."""
    async with engine.begin() as connection:
        await connection.execute(text(f"CREATE SCHEMA {metadata.schema}"))
        await connection.run_sync(metadata.create_all)
