"""POST /v1/incidents on the real database and broker: a new incident is stored and its
`incident.reported.v1` published; retries (Idempotency-Key, remembered for a day) and
duplicates (dedup_key) return the existing incident, also when they race; bad requests get
problem+json naming the field."""

import asyncio
from datetime import timedelta
from typing import Any
from uuid import uuid4

import pytest
from harness import eventually
from incident_events.incidents import IncidentReported
from integration.intake.support import AUTH, T0, RunningIntake, report_body

pytestmark = pytest.mark.integration
REPORTED = "incident.reported.v1"


async def test_report_stores_and_publishes(intake: RunningIntake) -> None:
    response = await intake.report(report_body())
    assert response.status_code == 201, response.text
    incident = response.json()
    incident_id = incident["incident_id"]
    assert response.headers["location"] == f"/v1/incidents/{incident_id}"
    assert incident["reference"].startswith("INC-") and len(incident["reference"]) == 10
    assert incident["status"] == "new" and incident["assignee"] is None
    assert incident["title"] == "Checkout fails with <b>500</b>"  # stored as text
    assert (incident["channel"], incident["kind"], incident["language"]) == (
        "api",
        "incident",
        "cs",
    )
    assert incident["customer"]["customer_id"] == "email:ann@example.com"

    event = await intake.reader.wait_for(lambda e: e.subject == incident_id and e.type == REPORTED)
    assert isinstance(event.data, IncidentReported)
    assert event.source == "/intake" and event.correlationid == incident_id and event.time == T0
    assert event.data.reference == incident["reference"]
    assert event.data.customer.customer_id == "email:ann@example.com"
    assert (event.data.severity, event.data.language) == ("high", "cs")
    assert event.data.required_skills == ["payments"]

    read = await intake.client.get(f"/v1/incidents/{incident_id}", headers=AUTH)
    assert read.status_code == 200
    detail = read.json()
    assert detail.pop("timeline") == [
        {"type": "reported", "at": "2026-11-23T09:00:00Z", "channel": "api"}
    ]
    assert detail.pop("allowed_transitions") == ["resolved"]
    assert detail == incident
    assert await intake.metric("incidents_reported_total", channel="api", severity="high") == 1


async def test_idempotency_key_replays_the_first_answer(intake: RunningIntake) -> None:
    key = str(uuid4())
    first = await intake.report(report_body(), key=key)
    again = await intake.report(report_body(), key=key)
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json() == first.json()
    assert again.headers["location"] == first.headers["location"]

    reused = await intake.report(report_body(title="Something else"), key=key)
    assert reused.status_code == 409
    assert reused.headers["content-type"] == "application/problem+json"
    assert reused.json()["title"] == "Idempotency-Key reused with a different request"

    incident_id = first.json()["incident_id"]
    await intake.reader.wait_for(lambda e: e.subject == incident_id and e.type == REPORTED)
    assert await intake.scalar("SELECT count(*) FROM intake.incidents") == 1
    reported = "SELECT count(*) FROM intake.outbox WHERE event_type = :type"
    assert await intake.scalar(reported, type=REPORTED) == 1
    assert await intake.metric("incidents_deduplicated_total", via="idempotency_key") == 1


@pytest.mark.parametrize("intake_settings", [{"retention_prune_seconds": 0.05}])
async def test_an_idempotency_key_is_remembered_for_a_day_then_free_again(
    intake: RunningIntake, intake_settings: Any
) -> None:
    older, younger = str(uuid4()), str(uuid4())
    first = await intake.report(report_body(), key=older)
    intake.clock.advance(timedelta(hours=2))
    second = await intake.report(report_body(), key=younger)
    intake.clock.advance(timedelta(hours=23))  # the older key is 25 hours old, the other 23

    await eventually(lambda: intake.metric("idempotency_keys_expired_total"))
    assert await intake.metric("idempotency_keys_expired_total") == 1
    retried = await intake.report(report_body(), key=younger)
    assert retried.status_code == 200
    assert retried.json()["incident_id"] == second.json()["incident_id"]
    reused = await intake.report(report_body(), key=older)
    assert reused.status_code == 201, "a key past its retention is a new report"
    assert reused.json()["incident_id"] != first.json()["incident_id"]
    assert await intake.scalar("SELECT count(*) FROM intake.idempotency_keys") == 2


async def test_dedup_key_returns_the_open_incident(intake: RunningIntake) -> None:
    dedup_key = f"db-down-{uuid4()}"
    first = await intake.report(report_body(dedup_key=dedup_key))
    repeat = await intake.report(report_body(dedup_key=dedup_key, title="DB still down"))
    other = await intake.report(report_body(dedup_key=f"other-{uuid4()}"))
    assert (first.status_code, repeat.status_code, other.status_code) == (201, 200, 201)
    assert repeat.json()["incident_id"] == first.json()["incident_id"]
    assert repeat.json()["title"] == first.json()["title"]
    assert other.json()["incident_id"] != first.json()["incident_id"]
    assert await intake.scalar("SELECT count(*) FROM intake.incidents") == 2
    assert await intake.metric("incidents_deduplicated_total", via="dedup_key") == 1


async def test_concurrent_duplicates_make_one_incident(intake: RunningIntake) -> None:
    key, dedup_key = str(uuid4()), f"disk-full-{uuid4()}"
    by_key = await asyncio.gather(*(intake.report(report_body(), key=key) for _ in range(6)))
    by_dedup = await asyncio.gather(
        *(intake.report(report_body(dedup_key=dedup_key)) for _ in range(6))
    )
    for responses in (by_key, by_dedup):
        assert sorted(r.status_code for r in responses) == [200] * 5 + [201]
        assert len({r.json()["incident_id"] for r in responses}) == 1
    assert await intake.scalar("SELECT count(*) FROM intake.incidents") == 2
    assert await intake.scalar("SELECT count(*) FROM intake.customers") == 1


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({k: v for k, v in report_body().items() if k != "severity"}, "body.severity"),
        (report_body(severity="urgent"), "body.severity"),
        (report_body(channel="pigeon"), "body.channel"),
        (report_body(title=7), "body.title"),
        (report_body(title="nul\x00here"), "body.title"),
        (report_body(customer={"email": "nope"}), "body.customer.email"),
        (report_body(required_skills="payments"), "body.required_skills"),
    ],
)
async def test_bad_request_names_the_field(
    intake: RunningIntake, body: dict[str, object], field: str
) -> None:
    response = await intake.report(body)
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["status"] == 422 and field in {e["field"] for e in problem["errors"]}
    assert await intake.scalar("SELECT count(*) FROM intake.incidents") == 0


async def test_auth_and_unknown_incident(intake: RunningIntake) -> None:
    anonymous = await intake.client.post("/v1/incidents", json=report_body())
    wrong = await intake.client.post(
        "/v1/incidents", json=report_body(), headers={"Authorization": "Bearer nope"}
    )
    unauthorised_read = await intake.client.get(f"/v1/incidents/{uuid4()}")
    for response in (anonymous, wrong, unauthorised_read):
        assert response.status_code == 401
        assert response.headers["content-type"] == "application/problem+json"
        assert response.headers["www-authenticate"] == "Bearer"
    missing = await intake.client.get(f"/v1/incidents/{uuid4()}", headers=AUTH)
    assert missing.status_code == 404
    assert missing.headers["content-type"] == "application/problem+json"
    assert missing.json()["title"] == "Incident not found"
