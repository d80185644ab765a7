"""The AsyncAPI document a service serves names, per topic, the event types it consumes and
publishes, each with its typed CloudEvents payload (not FastStream's untyped batch)."""

import re
from datetime import UTC, datetime
from typing import Any

import httpx
from incident_kit.clock import FrozenClock
from router.app import create_app
from router.config import RouterSettings

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)

COMPONENT_KEY = re.compile(r"^[a-zA-Z0-9.\-_]+$")


async def router_document() -> dict[str, Any]:
    settings = RouterSettings(
        kafka_bootstrap_servers="127.0.0.1:9", database_url="postgresql://u@127.0.0.1:9/d"
    )
    app = create_app(settings, FrozenClock(T0))  # no lifespan: nothing is connected
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://router") as client:
        response = await client.get("/asyncapi.json")
    assert response.status_code == 200
    document: dict[str, Any] = response.json()
    return document


async def test_channels_list_the_typed_events_consumed_and_published() -> None:
    document = await router_document()
    operations = document["operations"]
    receive = operations["router:receive:incidents"]
    send = operations["router:send:assignments"]
    assert (receive["action"], send["action"]) == ("receive", "send")
    assert set(document["channels"]["incidents"]["messages"]) == {
        "incident.reported.v1",
        "incident.resolved.v1",
    }
    assert set(document["channels"]["assignments"]["messages"]) == {
        "incident.assigned.v1",
        "assignment.queued.v1",
    }


async def test_payloads_are_cloudevents_with_typed_data() -> None:
    components = (await router_document())["components"]
    message = components["messages"]["incident.reported.v1"]
    assert message["contentType"] == "application/cloudevents+json"
    envelope = components["schemas"][message["payload"]["$ref"].rsplit("/", 1)[1]]
    assert {"id", "source", "type", "subject", "data"} <= set(envelope["properties"])
    data_ref = envelope["properties"]["data"]["$ref"].rsplit("/", 1)[1]
    assert "severity" in components["schemas"][data_ref]["properties"]
    assert all(COMPONENT_KEY.match(key) for key in components["schemas"])
