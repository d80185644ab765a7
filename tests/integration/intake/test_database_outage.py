"""PostgreSQL drops every connection of the service (a restart, a failover, an idle timeout).
Connections are not pinged on checkout, so the request that meets a dropped one may answer 503
with Retry-After; the client's retry with the same Idempotency-Key goes through on fresh
connections and makes one incident, and the relay, which lost its connection and with it the
lead, takes the lead again and publishes it."""

import pytest
from incident_events.incidents import IncidentReported
from integration.intake.support import RunningIntake, report_body

pytestmark = pytest.mark.integration


async def test_service_recovers_when_postgresql_drops_its_connections(
    intake: RunningIntake,
) -> None:
    assert (await intake.report(report_body(title="before"))).status_code == 201
    ended = await intake.scalar(
        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
        " WHERE application_name IN ('intake', 'intake outbox relay')"
        " AND datname = current_database()"
    )
    assert ended >= 2  # the pool's connection(s) and the relay's

    response = await intake.report(report_body(title="after"), key="after-drop")
    if response.status_code == 503:
        assert response.headers["Retry-After"]
        response = await intake.report(report_body(title="after"), key="after-drop")
    assert response.status_code == 201, response.text
    incident_id = response.json()["incident_id"]

    published = await intake.reader.wait_for(lambda e: e.subject == incident_id)
    assert isinstance(published.data, IncidentReported)
    assert published.data.title == "after"
    count = "SELECT count(*) FROM intake.incidents WHERE title = :title"
    assert await intake.scalar(count, title="after") == 1
