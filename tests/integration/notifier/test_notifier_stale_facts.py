"""A status change older than the one the notifier applied (a dead letter replayed after the
incident moved on) changes nothing: the customer's status page keeps the later status."""

from datetime import timedelta
from uuid import uuid4

import harness
import pytest
from incident_events import new_event
from incident_events.incidents import IncidentResolved, IncidentStatusChanged
from incident_events.types import IncidentStatus
from incident_kit.database import create_engine
from integration.notifier.support import T0, NotifierUnderTest, reported
from sqlalchemy import text

pytestmark = pytest.mark.integration
HANDLED = 'events_handled_total{event_type="%s",outcome="handled"}'


def status_changed(incident_id: str, to: IncidentStatus, minutes: int) -> IncidentStatusChanged:
    return IncidentStatusChanged(
        incident_id=incident_id,
        from_status=IncidentStatus.NEW,
        to_status=to,
        changed_at=T0 + timedelta(minutes=minutes),
    )


async def test_an_older_status_change_replayed_late_is_ignored(
    notifier: NotifierUnderTest, fresh_database_url: str
) -> None:
    incident_id = f"inc-{uuid4()}"
    resolved = IncidentResolved(
        incident_id=incident_id, resolved_at=T0 + timedelta(minutes=20), resolution="fixed"
    )
    facts = [
        status_changed(incident_id, IncidentStatus.IN_PROGRESS, 10),
        status_changed(incident_id, IncidentStatus.ASSIGNED, 5),  # older: replayed late
        resolved,
        status_changed(incident_id, IncidentStatus.WAITING_ON_CUSTOMER, 15),  # older again
    ]
    await notifier.publish(reported(incident_id))
    for fact in facts:
        await notifier.publish(new_event(fact, source="/intake", now=T0))

    async def all_handled() -> bool:
        changes = await notifier.metric(HANDLED % "incident.status_changed.v1")
        return changes == 3 and await notifier.metric(HANDLED % "incident.resolved.v1") == 1

    await harness.eventually(all_handled)
    engine = create_engine(fresh_database_url)
    try:
        async with engine.connect() as connection:
            query = (
                "SELECT status, status_changed_at FROM notifier.incidents WHERE incident_id = :i"
            )
            row = (await connection.execute(text(query), {"i": incident_id})).one()
    finally:
        await engine.dispose()
    assert (row.status, row.status_changed_at) == ("resolved", T0 + timedelta(minutes=20))
