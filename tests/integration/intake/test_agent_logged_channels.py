"""Phone and fax on the real database and broker: an agent logs the customer's call or fax
through POST /v1/incidents with that channel and their own id, which the incident, its
reported fact and the metrics by channel all carry."""

import pytest
from incident_events.incidents import IncidentReported
from integration.intake.support import RunningIntake, report_body

pytestmark = pytest.mark.integration
CALLER = {"phone": "+420 601 123 456", "name": "Jana Dvořáková", "language": "cs"}


@pytest.mark.parametrize("channel", ["phone", "fax"])
async def test_an_agent_logs_a_call_or_a_fax(intake: RunningIntake, channel: str) -> None:
    body = report_body(channel=channel, logged_by="olga", customer=CALLER)
    response = await intake.report(body)
    assert response.status_code == 201, response.text
    incident = response.json()
    assert (incident["channel"], incident["logged_by"]) == (channel, "olga")
    assert incident["customer"]["customer_id"] == "phone:+420601123456"
    assert (await intake.read(incident["incident_id"]))["timeline"][0]["channel"] == channel

    event = await intake.reader.wait_for(lambda e: e.subject == incident["incident_id"])
    assert isinstance(event.data, IncidentReported)
    assert (event.data.channel, event.data.logged_by) == (channel, "olga")
    assert await intake.metric("incidents_reported_total", channel=channel, severity="high") == 1


@pytest.mark.parametrize("channel", ["phone", "fax"])
async def test_without_the_agent_it_is_refused_naming_the_field(
    intake: RunningIntake, channel: str
) -> None:
    response = await intake.report(report_body(channel=channel, customer=CALLER))
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["errors"][0]["field"] == "body.logged_by"
