"""Every channel's report comes from a client, on the real database and broker: Alertmanager's
the bearer key's, the Events API's the routing key's (a configured one: the built-in `events`;
an API key holding `report`: its own client), mail's and the web form's the built-in `email`
and `web-form`, a phone call's the agent's. Their dedup_keys are each client's own, and none of
them sets a customer's tier: that stays the admin's."""

from typing import Any

import pytest
from incident_events.incidents import IncidentReported
from intake.domain import Scope
from integration.intake.alertmanager_process import free_port
from integration.intake.support import AUTH, RunningIntake, report_body
from integration.intake.test_alertmanager import alert, notification
from integration.intake.test_events_api import trigger
from integration.intake.test_inbound_mail import listening, mail, send
from integration.intake.test_web_form import filled, open_form

pytestmark = pytest.mark.integration
CONFIGURED = "R0UT1NGKEYR0UT1NGKEYR0UT1NGKEY00"
EVENTS = "/v1/integrations/events"
ALERTS = "/v1/integrations/alertmanager"
REPORTED = "incident.reported.v1"


@pytest.fixture
def smtp_port() -> int:
    return free_port()


@pytest.fixture
def intake_settings(smtp_port: int) -> dict[str, Any]:
    return {"events_routing_keys": f"{CONFIGURED}=acme", "smtp_port": smtp_port}


def bearer(auth: dict[str, str]) -> str:
    return auth["Authorization"].removeprefix("Bearer ")


async def client_of(intake: RunningIntake, incident_id: str) -> str:
    found: str = await intake.scalar(
        "SELECT client_id FROM intake.incidents WHERE incident_id = :id", id=incident_id
    )
    return found


async def incident_ids(intake: RunningIntake, client_id: str) -> list[str]:
    rows = await intake.scalar(
        "SELECT coalesce(array_agg(incident_id ORDER BY created_at), '{}') FROM intake.incidents"
        " WHERE client_id = :client",
        client=client_id,
    )
    return list(rows)


async def test_an_api_key_holding_report_is_a_routing_key_of_its_client(
    intake: RunningIntake,
) -> None:
    monitoring = bearer(await intake.client_auth("monitoring", Scope.REPORT))
    rotated = bearer(await intake.client_auth("monitoring", Scope.REPORT))
    for key in (CONFIGURED, monitoring):
        sent = await intake.client.post(EVENTS, json=trigger(routing_key=key))
        assert sent.status_code == 202, sent.text
    # The same dedup_key, two clients: two incidents, each its client's.
    [mine] = await incident_ids(intake, "monitoring")
    [configured] = await incident_ids(intake, "events")
    assert (await intake.read(configured))["customer"]["customer_id"] == "acme"
    assert (await intake.read(mine))["customer"]["customer_id"] == "events:shop-web-1"

    # Another key of the client (rotation) reaches the incident; the configured key does not.
    resolve = {"event_action": "resolve", "dedup_key": "checkout-latency"}
    await intake.client.post(EVENTS, json={**resolve, "routing_key": rotated})
    assert (await intake.read(mine))["status"] == "resolved"
    assert (await intake.read(configured))["status"] == "new"


async def test_a_routing_key_must_be_known_and_hold_report(intake: RunningIntake) -> None:
    desk = await intake.client_auth("desk", Scope.AGENT)
    refused = await intake.client.post(EVENTS, json=trigger(routing_key=bearer(desk)))
    assert refused.status_code == 403, refused.text
    assert refused.headers["content-type"] == "application/json"
    assert refused.json()["errors"] == ["routing_key: the API key does not hold the scope report"]

    shop = await intake.client_auth("shop", Scope.REPORT)
    revoke = "UPDATE intake.api_keys SET revoked_at = now() WHERE client_id = 'shop'"
    await intake.execute(revoke)  # looked up fresh: this key was never cached
    unknown = await intake.client.post(EVENTS, json=trigger(routing_key=bearer(shop)))
    assert unknown.status_code == 400, unknown.text
    assert unknown.json()["errors"] == ["routing_key: not a known routing key"]
    assert await intake.scalar("SELECT count(*) FROM intake.incidents") == 0
    rejected = "intake_requests_rejected_total"
    assert await intake.metric(rejected, route=EVENTS, reason="invalid_routing_key") == 1
    assert await intake.metric(rejected, route=EVENTS, reason="insufficient_scope") == 1


async def test_alerts_belong_to_the_bearer_keys_client(intake: RunningIntake) -> None:
    grafana = await intake.client_auth("grafana", Scope.REPORT)
    prometheus = await intake.client_auth("prometheus", Scope.REPORT)
    opened = await intake.client.post(ALERTS, json=notification(alert("ff01")), headers=grafana)
    assert opened.status_code == 200, opened.text
    [outcome] = opened.json()["alerts"]
    assert await client_of(intake, outcome["incident_id"]) == "grafana"

    # Another client's alert with the same group and fingerprint neither finds nor resolves it.
    resolved = notification(alert("ff01", status="resolved"), status="resolved")
    other = await intake.client.post(ALERTS, json=resolved, headers=prometheus)
    assert other.json()["alerts"][0]["outcome"] == "not_open"
    assert (await intake.read(outcome["incident_id"]))["status"] == "new"
    own = await intake.client.post(ALERTS, json=resolved, headers=grafana)
    assert own.json()["alerts"][0]["outcome"] == "resolved"

    desk = await intake.client_auth("desk", Scope.AGENT)
    refused = await intake.client.post(ALERTS, json=notification(alert("ff02")), headers=desk)
    assert refused.status_code == 403
    assert refused.json()["required_scopes"] == ["report"]


async def premium_customer(intake: RunningIntake, email: str) -> str:
    """A customer an admin made premium, in the Europe/Prague time zone."""
    ops = await intake.client_auth("ops", Scope.ADMIN)
    incident = (await intake.report(report_body(customer={"email": email}))).json()
    customer_id: str = incident["customer"]["customer_id"]
    change = {"tier": "premium", "time_zone": "Europe/Prague"}
    amended = await intake.client.patch(f"/v1/customers/{customer_id}", json=change, headers=ops)
    assert amended.status_code == 200, amended.text
    return customer_id


async def reported_tier(intake: RunningIntake, incident_id: str) -> str:
    event = await intake.reader.wait_for(lambda e: e.subject == incident_id and e.type == REPORTED)
    assert isinstance(event.data, IncidentReported)
    return str(event.data.customer.tier)


async def test_mail_and_the_web_form_report_as_built_in_clients_without_a_tier(
    intake: RunningIntake, smtp_port: int
) -> None:
    customer_id = await premium_customer(intake, "jana@example.cz")
    await listening(smtp_port)
    code, reply = await send(smtp_port, mail("Printer offline"))
    assert code == 250, reply
    [by_mail] = await incident_ids(intake, "email")

    form = await open_form(intake.client)
    # A field the form does not have is not read: the tier is not the customer's to choose.
    sent = await intake.client.post("/report?lang=cs", data={**filled(form), "tier": "basic"})
    assert sent.status_code == 201, sent.text
    [by_form] = await incident_ids(intake, "web-form")

    for incident_id in (by_mail, by_form):
        incident = await intake.read(incident_id)
        assert incident["customer"]["customer_id"] == customer_id
        assert incident["client_id"] in ("email", "web-form")
        assert await reported_tier(intake, incident_id) == "premium"
    record = (await intake.client.get(f"/v1/customers/{customer_id}", headers=AUTH)).json()
    assert (record["tier"], record["time_zone"]) == ("premium", "Europe/Prague")
    assert record["incidents"]["by_channel"] == {"api": 1, "email": 1, "web": 1}


async def test_a_call_is_logged_by_an_agent_holding_the_scope(intake: RunningIntake) -> None:
    caller = {"phone": "+420 601 123 456", "name": "Jana"}
    call = report_body(channel="phone", logged_by="olga", customer=caller)
    shop = await intake.client_auth("shop", Scope.REPORT)
    refused = await intake.report(call, auth=shop)
    assert refused.status_code == 403, refused.text
    assert (refused.json()["field"], refused.json()["required_scopes"]) == (
        "body.logged_by",
        ["agent"],
    )

    helpdesk = await intake.client_auth("helpdesk", Scope.AGENT)
    logged = await intake.report(call, auth=helpdesk)
    assert logged.status_code == 201, logged.text
    assert (logged.json()["client_id"], logged.json()["logged_by"]) == ("helpdesk", "olga")
    # The agent's client does not set the tier either.
    tiered = report_body(channel="fax", logged_by="olga", customer={**caller, "tier": "premium"})
    assert (await intake.report(tiered, auth=helpdesk)).status_code == 403
    assert await intake.metric("incidents_reported_total", channel="phone") == 1
