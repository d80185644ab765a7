"""The SQL of incidents' timelines: the facts of each change kept as their event payloads, added
alone or with the change saved in the same statement."""

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from incident_events import EventData, registered_types
from incident_kit import driver
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from intake.domain import Incident, is_public
from intake.repository.incidents import SAVE_INCIDENT, saved_values
from intake.repository.rows import name_of, unnest
from intake.tables import TimelineRow

# On the driver, arrays unnested in the given order (entry_id follows it): one statement built
# once, where the session's executemany cost about four times the client CPU.
_GIVEN = unnest(
    ("incident_id", "text"), ("event_type", "text"), ("public", "boolean"), ("data", "text")
)
ADD_TO_TIMELINE = text(
    f"INSERT INTO {name_of(TimelineRow)} (incident_id, event_type, public, recorded_at, data)"
    " SELECT incident_id, event_type, public, CAST(:now AS timestamptz), CAST(data AS jsonb)"
    f" FROM {_GIVEN}"
    " ORDER BY position"
)


# A change saved with its entries, in one round trip: the UPDATE in a WITH runs whether or not
# the INSERT is given rows.
SAVE_WITH_TIMELINE = text(f"WITH saved AS ({SAVE_INCIDENT.text}) {ADD_TO_TIMELINE.text}")


async def add_to_timeline(
    session: AsyncSession, *, facts: Sequence[EventData], now: datetime
) -> None:
    if facts:
        await driver.fetch(session, ADD_TO_TIMELINE, _entries(facts, now))


async def record_change(
    session: AsyncSession,
    *,
    saving: Incident | None,
    facts: Sequence[EventData],
    now: datetime,
) -> None:
    """Save the incident as changed (unless None: it did not change) and add the change's facts
    to its timeline, in one statement. Reopening an incident whose dedup_key a newer open
    incident holds raises IntegrityError. In a batch of the consumer the statement is held and
    run with the batch's others (`incident_kit.driver.write`)."""
    if saving is None:
        await add_to_timeline(session, facts=facts, now=now)
        return
    parameters = saved_values(saving) | _entries(facts, now)
    await driver.write(session, SAVE_WITH_TIMELINE, parameters)


def _entries(facts: Sequence[EventData], now: datetime) -> dict[str, Any]:
    return {
        "incident_id": [fact.incident_id for fact in facts],
        "event_type": [fact.event_type for fact in facts],
        "public": [is_public(fact) for fact in facts],
        "data": [fact.model_dump_json() for fact in facts],
        "now": now,
    }


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
