"""Intake's metrics on GET /metrics after real requests: incidents by channel, kind and
severity; request latency by route template (never the raw path); requests rejected by
route and reason."""

import pytest
from integration.intake.support import AUTH, RunningIntake, report_body

pytestmark = pytest.mark.integration


async def test_incidents_latency_and_rejections_are_counted(intake: RunningIntake) -> None:
    reported = await intake.report(
        report_body(channel="phone", logged_by="olga", kind="billing", severity="low")
    )
    incident_id = reported.json()["incident_id"]
    customer_id = reported.json()["customer"]["customer_id"]
    await intake.client.get(f"/v1/incidents/{incident_id}", headers=AUTH)
    await intake.client.get(f"/v1/customers/{customer_id}", headers=AUTH)
    await intake.client.get("/v1/incidents/no-such-incident", headers=AUTH)
    await intake.move(incident_id, "in_progress")  # new -> in_progress is not allowed: 409
    await intake.report({"title": "no severity"})
    await intake.client.get("/nowhere", headers=AUTH)

    assert (
        await intake.metric(
            "incidents_reported_total", channel="phone", kind="billing", severity="low"
        )
        == 1
    )
    latency = "http_request_duration_seconds_count"
    for route in ("/v1/incidents/{incident_id}", "/v1/customers/{customer_id}"):
        assert await intake.metric(latency, method="GET", route=route) >= 1, route
    assert await intake.metric(latency, route=f"/v1/incidents/{incident_id}") == 0
    rejected = "intake_requests_rejected_total"
    for route, reason in [
        ("/v1/incidents/{incident_id}", "not_found"),
        ("/v1/incidents/{incident_id}/status", "conflict"),
        ("/v1/incidents", "invalid"),
        ("unmatched", "not_found"),
    ]:
        assert await intake.metric(rejected, route=route, reason=reason) == 1, (route, reason)
    assert await intake.metric(rejected, route="/v1/incidents", reason="conflict") == 0
