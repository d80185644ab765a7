"""Concurrent POST /v1/incidents share transactions (group commit) on the real database, and
each report still gets its own answer: new incidents with their own references and events,
one incident per Idempotency-Key or open dedup_key, a 409 for a reused key alone, a burst for
one customer that all succeeds, and a customer row written only when its details change."""

import asyncio
from typing import Any
from uuid import uuid4

import httpx
import pytest
from integration.intake.support import RunningIntake, report_body

pytestmark = pytest.mark.integration
REPORTED = "incident.reported.v1"


def grouped(size: int) -> pytest.MarkDecorator:
    """Reports are committed in groups of `size`: the group's timer (1 s) is far off, so the
    groups a test makes do not depend on how fast the machine is."""
    settings = {"group_commit_max_reports": size, "group_commit_wait_ms": 1000}
    return pytest.mark.parametrize("intake_settings", [settings], ids=[f"groups-of-{size}"])


async def report_all(
    intake: RunningIntake, *requests: tuple[dict[str, Any], str | None]
) -> list[httpx.Response]:
    """POST all at once, each (body, Idempotency-Key); the answers in the same order."""
    return list(await asyncio.gather(*(intake.report(body, key=key) for body, key in requests)))


@grouped(10)
async def test_concurrent_reports_become_incidents_in_fewer_transactions(
    intake: RunningIntake,
) -> None:
    bodies = [
        report_body(title=f"Report {n}", customer={"email": f"c{n % 7}@example.com"})
        for n in range(50)
    ]
    responses = await report_all(intake, *((body, None) for body in bodies))

    assert [r.status_code for r in responses] == [201] * 50
    incidents = [r.json() for r in responses]
    for n, incident in enumerate(incidents):  # each request got its own incident back
        assert incident["title"] == f"Report {n}"
        assert incident["customer"]["customer_id"] == f"email:c{n % 7}@example.com"
    assert len({incident["incident_id"] for incident in incidents}) == 50
    assert len({incident["reference"] for incident in incidents}) == 50
    assert await intake.scalar("SELECT count(*) FROM intake.incidents") == 50
    assert await intake.scalar("SELECT count(*) FROM intake.customers") == 7
    one_event_each = (
        "SELECT count(DISTINCT o.message_key) FILTER (WHERE o.event_type = :type) = 50"
        " AND count(*) = 50 FROM intake.outbox o JOIN intake.incidents i"
        " ON i.incident_id = o.message_key"
    )
    assert await intake.scalar(one_event_each, type=REPORTED)
    assert await intake.metric("intake_group_commit_size_sum") == 50
    assert await intake.metric("intake_group_commit_size_count") == 5


@grouped(10)
async def test_concurrent_repeats_of_one_key_make_one_incident(intake: RunningIntake) -> None:
    key = str(uuid4())
    responses = await report_all(intake, *((report_body(), key) for _ in range(10)))

    assert sorted(r.status_code for r in responses) == [200] * 9 + [201]
    assert len({r.json()["incident_id"] for r in responses}) == 1
    assert await intake.scalar("SELECT count(*) FROM intake.incidents") == 1
    assert await intake.scalar("SELECT count(*) FROM intake.outbox") == 1
    assert await intake.metric("incidents_deduplicated_total", via="idempotency_key") == 9


@grouped(3)
async def test_a_reused_key_inside_a_group_fails_only_that_request(intake: RunningIntake) -> None:
    key = str(uuid4())
    first, other, keyless = await report_all(
        intake,
        (report_body(title="First"), key),
        (report_body(title="Other body"), key),
        (report_body(title="No key"), None),
    )
    # Whichever of the two arrived first made the incident; the other reused its key.
    made, reused = (first, other) if first.status_code == 201 else (other, first)
    assert (made.status_code, reused.status_code, keyless.status_code) == (201, 409, 201)
    assert reused.headers["content-type"] == "application/problem+json"
    assert reused.json()["title"] == "Idempotency-Key reused with a different request"
    assert await intake.scalar("SELECT count(*) FROM intake.incidents") == 2

    # The key's first body is stored now: in the next group it replays, another body fails.
    again, reused_again, new = await report_all(
        intake,
        (report_body(title=made.json()["title"]), key),
        (report_body(title="Yet another body"), key),
        (report_body(title="New"), str(uuid4())),
    )
    assert (again.status_code, reused_again.status_code, new.status_code) == (200, 409, 201)
    assert again.json() == made.json()
    assert await intake.scalar("SELECT count(*) FROM intake.incidents") == 3


@grouped(10)
async def test_concurrent_reports_with_one_dedup_key_make_one_incident(
    intake: RunningIntake,
) -> None:
    dedup_key = f"disk-full-{uuid4()}"
    bodies = [report_body(title=f"Disk full {n}", dedup_key=dedup_key) for n in range(10)]
    responses = await report_all(intake, *((body, None) for body in bodies))
    assert sorted(r.status_code for r in responses) == [200] * 9 + [201]
    assert len({r.json()["incident_id"] for r in responses}) == 1

    # A later group finds the stored open incident.
    later = await report_all(intake, *((body, None) for body in bodies))
    assert [r.status_code for r in later] == [200] * 10
    assert {r.json()["incident_id"] for r in later} == {responses[0].json()["incident_id"]}
    assert await intake.scalar("SELECT count(*) FROM intake.incidents") == 1
    assert await intake.scalar("SELECT count(*) FROM intake.outbox") == 1
    assert await intake.metric("incidents_deduplicated_total", via="dedup_key") == 19


@pytest.mark.parametrize(
    "intake_settings",
    [
        {
            "group_commit_max_reports": 10,
            "group_commit_wait_ms": 1000,
            "group_commit_max_in_flight": 4,
        }
    ],
    ids=["4-groups-of-10-at-once"],
)
async def test_a_burst_for_one_customer_all_succeeds(intake: RunningIntake) -> None:
    # Several groups commit at once and meet on the same customer row, some renaming it, so
    # groups both wait for and skip each other's writes.
    names = ("Ann Novak", "Ann N.")
    bodies = [
        report_body(
            title=f"Alert {n}", customer={"email": "ann@example.com", "name": names[n // 10 % 2]}
        )
        for n in range(100)
    ]
    responses = await report_all(intake, *((body, None) for body in bodies))

    assert [r.status_code for r in responses] == [201] * 100
    assert len({r.json()["reference"] for r in responses}) == 100
    assert {r.json()["customer"]["name"] for r in responses} <= set(names)
    assert await intake.scalar("SELECT count(*) FROM intake.incidents") == 100
    assert await intake.scalar("SELECT count(*) FROM intake.customers") == 1
    assert await intake.scalar("SELECT name FROM intake.customers") in names
    assert await intake.metric("intake_group_commit_size_count") == 10


@grouped(5)
async def test_a_group_writes_a_customer_row_only_when_its_details_change(
    intake: RunningIntake,
) -> None:
    customer = {"email": "ann@example.com", "name": "Ann Novak", "language": "cs"}
    assert (await intake.report(report_body(customer=customer))).status_code == 201
    version = "SELECT xmin::text FROM intake.customers"
    created = await intake.scalar(version)

    same = await report_all(intake, *((report_body(customer=customer), None) for _ in range(5)))
    assert [r.status_code for r in same] == [201] * 5
    assert await intake.scalar(version) == created  # not written, so not locked either

    # The group's reports are merged: each field as the last report stating it says.
    renamed = {**customer, "name": "Ann Nováková"}
    phoned = {"email": "ann@example.com", "phone": "+420 123 456 789"}
    changed = await report_all(
        intake,
        *((report_body(customer=c), None) for c in (renamed, phoned, renamed, phoned, phoned)),
    )
    assert [r.status_code for r in changed] == [201] * 5
    assert await intake.scalar(version) != created
    stored = "SELECT name || ' ' || phone || ' ' || language FROM intake.customers"
    assert await intake.scalar(stored) == "Ann Nováková +420 123 456 789 cs"
    for response in changed:
        assert response.json()["customer"]["name"] == "Ann Nováková"
        assert response.json()["customer"]["phone"] == "+420 123 456 789"
