"""Intake consuming `assignments` on the real broker: an assignment sets the assignee and moves
a new incident to assigned (once, however often it is delivered); an assignment older than the
one recorded (a dead letter replayed late) changes nothing; messages that can never be
processed land on `assignments.dlq` with the reason."""

from datetime import datetime, timedelta
from typing import Any
from uuid import uuid4

import pytest
from harness import eventually, headers_of, publish_raw, read_raw
from incident_events import Event, new_event
from incident_events.incidents import IncidentStatusChanged
from incident_events.routing import AssignmentQueued, IncidentAssigned
from integration.intake.support import AUTH, T0, RunningIntake, report_body

pytestmark = pytest.mark.integration
STATUS_CHANGED = "incident.status_changed.v1"
ASSIGNED = "incident.assigned.v1"


def assignment(
    incident_id: str, agent_id: str, assigned_at: datetime = T0
) -> Event[IncidentAssigned]:
    data = IncidentAssigned(
        incident_id=incident_id,
        agent_id=agent_id,
        agent_name=f"Agent {agent_id}",
        reason="payments skill, speaks cs, lowest load",
        assigned_at=assigned_at,
    )
    return new_event(data, source="/router", now=T0, correlation_id=incident_id)


async def reported_incident(intake: RunningIntake) -> dict[str, Any]:
    response = await intake.report(report_body(dedup_key=f"assign-{uuid4()}"))
    assert response.status_code == 201, response.text
    incident: dict[str, Any] = response.json()
    return incident


async def assignee_of(intake: RunningIntake, incident_id: str) -> Any:
    response = await intake.client.get(f"/v1/incidents/{incident_id}", headers=AUTH)
    return response.json()["assignee"]


async def test_assignment_sets_assignee_and_status(intake: RunningIntake) -> None:
    incident_id = (await reported_incident(intake))["incident_id"]
    queued = AssignmentQueued(incident_id=incident_id, reason="no agent online", queued_at=T0)
    await intake.publish(new_event(queued, source="/router", now=T0))  # ignored
    cause = assignment(incident_id, "agent-7")
    await intake.publish(cause)

    assignee = await eventually(lambda: assignee_of(intake, incident_id))
    assert assignee == {
        "agent_id": "agent-7",
        "name": "Agent agent-7",
        "reason": "payments skill, speaks cs, lowest load",
    }
    event = await intake.reader.wait_for(
        lambda e: e.subject == incident_id and e.type == STATUS_CHANGED
    )
    assert isinstance(event.data, IncidentStatusChanged)
    assert (event.data.from_status, event.data.to_status) == ("new", "assigned")
    assert event.causationid == str(cause.id) and event.correlationid == incident_id
    assert event.source == "/intake" and event.data.changed_by == "agent-7"
    # Events of one incident are ordered: a second reported event would have come before.
    same_incident = [e for e in intake.reader.seen if e.subject == incident_id]
    assert [e.type for e in same_incident] == ["incident.reported.v1", STATUS_CHANGED]
    read = await intake.client.get(f"/v1/incidents/{incident_id}", headers=AUTH)
    assert read.json()["status"] == "assigned"

    async def transition_counted() -> bool:
        moved = {"from_status": "new", "to_status": "assigned"}
        return await intake.metric("incident_transitions_total", **moved) == 1

    await eventually(transition_counted)


async def test_redelivered_assignment_has_no_second_effect(intake: RunningIntake) -> None:
    incident_id = (await reported_incident(intake))["incident_id"]
    first, reassigned = assignment(incident_id, "agent-7"), assignment(incident_id, "agent-9")
    for message in (first, first, reassigned, first):
        await intake.publish(message)

    async def all_consumed() -> bool:
        handled = await intake.metric(
            "events_handled_total", event_type=ASSIGNED, outcome="handled"
        )
        again = await intake.metric(
            "events_handled_total", event_type=ASSIGNED, outcome="redelivered"
        )
        return handled + again >= 4

    await eventually(all_consumed)
    assert await intake.metric("events_handled_total", event_type=ASSIGNED, outcome="handled") == 2
    assert (await assignee_of(intake, incident_id))["agent_id"] == "agent-9"
    changes = "SELECT count(*) FROM intake.outbox WHERE message_key = :id AND event_type = :type"
    assert await intake.scalar(changes, id=incident_id, type=STATUS_CHANGED) == 1
    assert await intake.scalar("SELECT count(*) FROM intake.inbox") == 2


async def test_an_older_assignment_replayed_late_leaves_the_newer_assignee(
    intake: RunningIntake,
) -> None:
    incident_id = (await reported_incident(intake))["incident_id"]
    newer = assignment(incident_id, "agent-9", assigned_at=T0 + timedelta(minutes=5))
    older = assignment(incident_id, "agent-7", assigned_at=T0 + timedelta(minutes=1))
    for message in (newer, older):  # the older one as a replay brings it: a new delivery, late
        await intake.publish(message)

    async def both_handled() -> bool:
        handled = "events_handled_total"
        return await intake.metric(handled, event_type=ASSIGNED, outcome="handled") == 2

    await eventually(both_handled)
    assert (await assignee_of(intake, incident_id))["agent_id"] == "agent-9"
    changes = "SELECT count(*) FROM intake.outbox WHERE message_key = :id AND event_type = :type"
    assert await intake.scalar(changes, id=incident_id, type=STATUS_CHANGED) == 1
    recorded = "SELECT assigned_at FROM intake.incidents WHERE incident_id = :id"
    assert await intake.scalar(recorded, id=incident_id) == T0 + timedelta(minutes=5)


async def test_unprocessable_messages_are_dead_lettered(intake: RunningIntake) -> None:
    topic = f"{intake.prefix}assignments"
    unknown = assignment(str(uuid4()), "agent-7")
    garbage_key = f"garbage-{uuid4()}"
    await intake.publish(unknown)
    await publish_raw(intake.servers, topic, garbage_key, b"<html>not an event</html>")

    dead = await read_raw(
        intake.servers, f"{topic}.dlq", lambda r: r.key == unknown.subject.encode()
    )
    assert headers_of(dead)["dlq-reason"].startswith("PoisonMessage: unknown incident")
    garbage = await read_raw(
        intake.servers, f"{topic}.dlq", lambda r: r.key == garbage_key.encode()
    )
    assert headers_of(garbage)["dlq-reason"].startswith("EventParseError")
    assert garbage.value == b"<html>not an event</html>"

    # The consumer went on: a later assignment is still applied.
    incident_id = (await reported_incident(intake))["incident_id"]
    await intake.publish(assignment(incident_id, "agent-3"))
    assignee = await eventually(lambda: assignee_of(intake, incident_id))
    assert assignee["agent_id"] == "agent-3"
