"""POST /v1/integrations/events, PagerDuty Events API v2-compatible, on the real database and
broker: trigger, acknowledge and resolve by dedup_key with the routing key as the credential,
PagerDuty's answers (202 / 400 "invalid event" naming the field), never a 5xx."""

from typing import Any

import pytest
from harness import eventually
from incident_events import new_event
from incident_events.incidents import IncidentReported
from incident_events.routing import IncidentAssigned
from intake.channels.pagerduty import stored_dedup_key
from integration.intake.support import T0, RunningIntake

pytestmark = pytest.mark.integration
KEY = "R0UT1NGKEYR0UT1NGKEYR0UT1NGKEY00"
URL = "/v1/integrations/events"


@pytest.fixture
def intake_settings() -> dict[str, Any]:
    return {"events_routing_keys": f"{KEY}=acme,OTHERKEY"}


def trigger(severity: str = "error", **changes: Any) -> dict[str, Any]:
    payload = {
        "summary": "Checkout <b>latency</b> over 2s",
        "source": "shop-web-1",
        "severity": severity,
        "custom_details": {"p99_ms": 2300},
    }
    return {
        "routing_key": KEY,
        "event_action": "trigger",
        "dedup_key": "checkout-latency",
        "payload": payload,
        **changes,
    }


async def incident_of(intake: RunningIntake, dedup_key: str) -> dict[str, Any]:
    incident_id = await intake.scalar(
        "SELECT incident_id FROM intake.incidents WHERE dedup_key = :key ORDER BY created_at",
        key=stored_dedup_key(KEY, dedup_key),
    )
    return await intake.read(incident_id)


async def test_trigger_acknowledge_resolve(intake: RunningIntake) -> None:
    first = await intake.client.post(URL, json=trigger())
    assert first.status_code == 202, first.text
    assert first.json() == {
        "status": "success",
        "message": "Event processed",
        "dedup_key": "checkout-latency",
    }
    incident = await incident_of(intake, "checkout-latency")
    assert (incident["channel"], incident["severity"], incident["status"]) == (
        "events_api",
        "high",
        "new",
    )
    assert incident["customer"]["customer_id"] == "acme"
    assert incident["title"] == "Checkout <b>latency</b> over 2s"
    assert '"p99_ms": 2300' in incident["description"]
    event = await intake.reader.wait_for(lambda e: e.subject == incident["incident_id"])
    assert isinstance(event.data, IncidentReported) and event.data.channel == "events_api"
    assert await intake.metric("incidents_reported_total", channel="events_api") == 1

    again = await intake.client.post(URL, json=trigger(severity="critical"))
    assert again.status_code == 202
    assert await intake.scalar("SELECT count(*) FROM intake.incidents") == 1
    assert (await intake.read(incident["incident_id"]))["severity"] == "critical"

    ack = {"routing_key": KEY, "event_action": "acknowledge", "dedup_key": "checkout-latency"}
    assert (await intake.client.post(URL, json=ack)).status_code == 202
    assert (await intake.read(incident["incident_id"]))["status"] == "new"  # no agent yet
    notes = (
        "SELECT data->>'body' FROM intake.timeline WHERE NOT public AND incident_id = :id"
        " AND event_type = 'incident.commented.v1'"
    )
    note = await intake.scalar(notes, id=incident["incident_id"])
    assert "acknowledged through the Events API while the incident was new" in note

    await assign(intake, incident["incident_id"])
    assert (await intake.client.post(URL, json=ack)).status_code == 202
    assert (await intake.read(incident["incident_id"]))["status"] == "in_progress"

    resolve = {**ack, "event_action": "resolve"}
    assert (await intake.client.post(URL, json=resolve)).status_code == 202
    resolved = await intake.read(incident["incident_id"])
    assert resolved["status"] == "resolved"
    assert resolved["resolution"] == "The monitoring system reported it resolved"
    # Resolving again, or acting on a key never seen, is accepted and changes nothing.
    assert (await intake.client.post(URL, json=resolve)).status_code == 202
    unknown = {**ack, "dedup_key": "never-triggered"}
    assert (await intake.client.post(URL, json=unknown)).status_code == 202


async def assign(intake: RunningIntake, incident_id: str) -> None:
    data = IncidentAssigned(
        incident_id=incident_id, agent_id="olga", agent_name="Olga", reason="r", assigned_at=T0
    )
    await intake.publish(new_event(data, source="/router", now=T0))

    async def assigned() -> bool:
        return bool((await intake.read(incident_id))["status"] == "assigned")

    await eventually(assigned)


async def test_keys_are_per_routing_key_and_generated_when_missing(intake: RunningIntake) -> None:
    mine = await intake.client.post(URL, json=trigger())
    theirs = await intake.client.post(URL, json=trigger(routing_key="OTHERKEY"))
    assert mine.json()["dedup_key"] == theirs.json()["dedup_key"] == "checkout-latency"
    assert await intake.scalar("SELECT count(*) FROM intake.incidents") == 2
    customers = "SELECT customer_id FROM intake.incidents WHERE dedup_key = :key"
    other_key = stored_dedup_key("OTHERKEY", "checkout-latency")
    assert await intake.scalar(customers, key=other_key) == "events:shop-web-1"

    without = trigger()
    del without["dedup_key"]
    generated = await intake.client.post(URL, json=without)
    assert generated.status_code == 202 and len(generated.json()["dedup_key"]) == 32


@pytest.mark.parametrize(
    ("content", "error"),
    [
        ({"json": trigger(routing_key="WRONG")}, "routing_key: not a known routing key"),
        ({"json": trigger(event_action="snooze")}, "event_action: "),
        ({"json": trigger(payload=None)}, "payload: required to trigger"),
        ({"json": {**trigger(), "dedup_key": None, "event_action": "resolve"}}, "dedup_key: "),
        ({"json": trigger(severity="high")}, "payload.severity: "),
        ({"json": trigger(images="x")}, "images: "),
        ({"json": {**trigger(), "dedup_key": "nul\u0000"}}, "dedup_key: "),
        ({"json": {**trigger(), "dedup_key": "k" * 256}}, "dedup_key: "),
        ({"json": [1, 2]}, "body: "),
        ({"content": b'{"routing_key": ', "headers": {"content-type": "application/json"}}, ""),
        ({"content": b"routing_key=x", "headers": {"content-type": "text/plain"}}, ""),
    ],
)
async def test_bad_events_get_pagerdutys_400_naming_the_field(
    intake: RunningIntake, content: dict[str, Any], error: str
) -> None:
    response = await intake.client.post(URL, **content)
    assert response.status_code == 400, response.text
    assert response.headers["content-type"] == "application/json"
    answer = response.json()
    assert (answer["status"], answer["message"]) == ("invalid event", "Event object is invalid")
    assert any(e.startswith(error) for e in answer["errors"]), answer
    assert await intake.scalar("SELECT count(*) FROM intake.incidents") == 0
