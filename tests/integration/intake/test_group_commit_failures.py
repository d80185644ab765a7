"""When a group's transaction fails: a report the database refuses fails alone while the rest of
its group is stored; a lost or refused database connection answers every report of the group
with 503 and Retry-After, and nothing of the group is stored."""

import asyncio
import socket

import httpx
import pytest
from harness import eventually, running_app
from incident_devstack.pytest_plugin import Infra
from incident_kit.clock import FrozenClock
from intake.app import create_app
from intake.config import IntakeSettings
from integration.intake.support import API_KEY, AUTH, T0, RunningIntake, report_body
from sqlalchemy import text

pytestmark = pytest.mark.integration
GROUPS_OF_3 = pytest.mark.parametrize(
    "intake_settings",
    [{"group_commit_max_reports": 3, "group_commit_wait_ms": 1000}],
    ids=["groups-of-3"],
)
REFUSE_TITLE = """
CREATE FUNCTION intake.refuse_title() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.title = 'Refused' THEN RAISE EXCEPTION 'refused by the test'; END IF;
    RETURN NEW;
END $$
"""


def assert_unavailable(response: httpx.Response) -> None:
    assert response.status_code == 503, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["retry-after"] == "1"


@GROUPS_OF_3
async def test_a_report_the_database_refuses_fails_alone(intake: RunningIntake) -> None:
    await intake.execute(REFUSE_TITLE)
    await intake.execute(
        "CREATE TRIGGER refuse BEFORE INSERT ON intake.incidents"
        " FOR EACH ROW EXECUTE FUNCTION intake.refuse_title()"
    )
    titles = ("Fine", "Refused", "Also fine")
    responses = await asyncio.gather(*(intake.report(report_body(title=t)) for t in titles))

    assert [r.status_code for r in responses] == [201, 500, 201]
    assert responses[1].headers["content-type"] == "application/problem+json"
    stored = "SELECT string_agg(title, ', ' ORDER BY title) FROM intake.incidents"
    assert await intake.scalar(stored) == "Also fine, Fine"
    assert await intake.scalar("SELECT count(*) FROM intake.outbox") == 2
    assert await intake.metric("intake_group_commit_fallbacks_total") == 1


@GROUPS_OF_3
async def test_a_lost_connection_answers_the_whole_group_503(intake: RunningIntake) -> None:
    async with intake.engine.connect() as holder:
        # An uncommitted claim of this key: the group's claim of it waits, mid-transaction.
        await holder.execute(
            text(
                "INSERT INTO intake.idempotency_keys (client_id, key, request_hash, created_at)"
                " VALUES ('env', 'held', 'x', now())"
            )
        )
        group = asyncio.gather(
            intake.report(report_body(title="a")),
            intake.report(report_body(title="b"), key="held"),
            intake.report(report_body(title="c")),
        )
        terminated = await eventually(
            lambda: intake.scalar(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                " WHERE application_name = 'intake' AND wait_event_type = 'Lock'"
                " AND datname = current_database()"
            )
        )
        responses = await group
        await holder.rollback()

    assert terminated == 1
    for response in responses:
        assert_unavailable(response)
    assert await intake.scalar("SELECT count(*) FROM intake.incidents") == 0
    after = await intake.report(report_body(title="b"), key="held")
    assert after.status_code == 201, after.text


async def test_a_refused_database_connection_answers_503(
    infra: Infra, kafka_topic_prefix: str
) -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings = IntakeSettings(
        kafka_bootstrap_servers=infra.kafka_bootstrap_servers,
        database_url=f"postgresql://postgres@127.0.0.1:{port}/nowhere",
        api_keys=API_KEY,
        kafka_topic_prefix=kafka_topic_prefix,
    )
    async with running_app(create_app(settings, FrozenClock(T0))) as client:
        responses = await asyncio.gather(
            *(client.post("/v1/incidents", json=report_body(), headers=AUTH) for _ in range(3))
        )
    for response in responses:
        assert_unavailable(response)
