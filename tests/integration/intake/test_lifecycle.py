"""The lifecycle endpoints on the real database and broker: one incident from report to a final
close, each change published through the outbox in order and kept in its timeline (the public
part without internal notes); concurrent changes apply one after another."""

import asyncio
from datetime import timedelta
from typing import Any
from uuid import uuid4

import pytest
from harness import eventually
from incident_events import new_event
from incident_events.routing import IncidentAssigned
from integration.intake.support import T0, RunningIntake, report_body

pytestmark = pytest.mark.integration
AGENT = {"kind": "agent", "id": "olga"}
CUSTOMER = {"kind": "customer"}
SUMMARY = "The payment gateway's certificate was renewed; <card> payments work again."


async def reported(intake: RunningIntake, **changes: Any) -> str:
    response = await intake.report(report_body(**changes))
    assert response.status_code == 201, response.text
    incident_id: str = response.json()["incident_id"]
    return incident_id


async def assigned(intake: RunningIntake, incident_id: str) -> None:
    data = IncidentAssigned(
        incident_id=incident_id,
        agent_id="olga",
        agent_name="Olga Dvořák",
        reason="payments skill",
        assigned_at=T0,
    )
    await intake.publish(new_event(data, source="/router", now=T0))

    async def status() -> bool:
        return bool((await intake.read(incident_id))["status"] == "assigned")

    await eventually(status)


async def test_one_incident_from_report_to_final_close(intake: RunningIntake) -> None:
    incident_id = await reported(intake)
    await assigned(intake, incident_id)
    clock = intake.clock
    assert (await intake.move(incident_id, "in_progress", changed_by="olga")).status_code == 200

    clock.advance(timedelta(minutes=5))
    reply = await intake.comment(incident_id, AGENT, "We are <b>on it</b>.")
    assert reply.status_code == 201, reply.text
    assert reply.json()["first_agent_reply"] is True
    note = await intake.comment(incident_id, AGENT, "Gateway cert expired?", "internal")
    again = await intake.comment(incident_id, AGENT, "Still looking.")
    assert (note.json()["first_agent_reply"], again.json()["first_agent_reply"]) == (False, False)

    waiting = await intake.move(incident_id, "waiting_on_customer")
    assert waiting.json()["status"] == "waiting_on_customer"
    clock.advance(timedelta(minutes=30))
    answer = await intake.comment(incident_id, CUSTOMER, "It fails with every card.")
    assert answer.status_code == 201 and answer.json()["incident_status"] == "in_progress"
    assert answer.json()["author_id"] == "email:ann@example.com"

    resolved = await intake.move(incident_id, "resolved", resolution_summary=SUMMARY)
    assert resolved.json()["resolution"] == SUMMARY
    assert (await intake.move(incident_id, "reopened")).status_code == 200
    assert (await intake.move(incident_id, "in_progress")).status_code == 200
    final = await intake.move(incident_id, "resolved", resolution_summary="Fixed for good.")
    assert final.json()["resolved_at"] is not None
    closed = await intake.move(incident_id, "closed")
    assert closed.json()["closed_at"] == clock.now().isoformat().replace("+00:00", "Z")

    late = await intake.comment(incident_id, CUSTOMER, "One more thing")
    assert late.status_code == 409 and late.json()["title"] == "Incident not open"
    clock.advance(timedelta(hours=168))
    shut = await intake.move(incident_id, "reopened")
    assert shut.status_code == 409 and shut.json()["allowed"] == []

    await assert_published_in_order(intake, incident_id)
    await assert_public_timeline(intake, incident_id)
    metric = intake.metric
    assert await metric("incident_transitions_total", from_status="resolved", to_status="reopened")
    assert await metric("incident_comments_total", author_kind="agent", visibility="internal") == 1
    assert await metric("incident_comments_total", author_kind="customer", visibility="public")


async def assert_published_in_order(intake: RunningIntake, incident_id: str) -> None:
    expected = [
        "reported",
        "status_changed",  # new -> assigned, by the router's assignment
        "status_changed",  # -> in_progress
        "commented",
        "commented",
        "commented",
        "status_changed",  # -> waiting_on_customer
        "commented",
        "status_changed",  # the customer's reply: -> in_progress
        "status_changed",
        "resolved",
        "status_changed",
        "reopened",
        "status_changed",
        "status_changed",
        "resolved",
        "status_changed",  # -> closed
    ]
    types = [f"incident.{name}.v1" for name in expected]

    def mine() -> list[Any]:
        return [e for e in intake.reader.seen if e.subject == incident_id]

    await intake.reader.wait_for(
        lambda e: e.subject == incident_id and getattr(e.data, "to_status", None) == "closed"
    )
    events = mine()
    assert [e.type for e in events] == types
    first_reply, back_to_work = events[3].data, events[8].data
    assert first_reply.first_agent_reply and not events[5].data.first_agent_reply
    assert (back_to_work.from_status, back_to_work.to_status) == (
        "waiting_on_customer",
        "in_progress",
    )
    assert back_to_work.waiting_since == T0 + timedelta(minutes=5)
    assert back_to_work.changed_at == T0 + timedelta(minutes=35)
    assert events[10].data.resolution == SUMMARY
    assert events[12].data.from_status == "resolved"
    # The assignment's status change follows the router's event; the API's start their own.
    assert all(e.correlationid == incident_id and e.source == "/intake" for e in events[2:])


async def assert_public_timeline(intake: RunningIntake, incident_id: str) -> None:
    detail = await intake.read(incident_id)
    assert detail["status"] == "closed" and detail["allowed_transitions"] == []
    timeline = detail["timeline"]
    kinds = [entry["type"] for entry in timeline]
    assert kinds[:4] == ["reported", "assigned", "status_changed", "status_changed"]
    assert timeline[1]["agent_name"] == "Olga Dvořák"
    comments = [entry["body"] for entry in timeline if entry["type"] == "comment"]
    assert comments == ["We are <b>on it</b>.", "Still looking.", "It fails with every card."]
    assert "Gateway cert expired?" not in str(detail)  # internal notes never show
    resolutions = [entry["resolution"] for entry in timeline if entry["type"] == "resolved"]
    assert resolutions == [SUMMARY, "Fixed for good."]
    assert kinds.count("status_changed") == 9
    stored = "SELECT count(*) FROM intake.timeline WHERE incident_id = :id"
    assert await intake.scalar(stored, id=incident_id) == len(timeline) - 1 + 2  # + note, reopened


async def test_refusals_are_problems_naming_the_field(intake: RunningIntake) -> None:
    incident_id = await reported(intake)
    cases: list[tuple[Any, int, str]] = [
        (intake.move(incident_id, "in_progress"), 409, "body.status"),
        (intake.move(incident_id, "resolved"), 422, "body.resolution_summary"),
        (
            intake.move(incident_id, "closed", resolution_summary="x"),
            422,
            "body.resolution_summary",
        ),
        (intake.move(incident_id, "done"), 422, "body.status"),
        (intake.move(incident_id, "closed", reason=["no"]), 422, "body.reason"),
        (intake.comment(incident_id, CUSTOMER, "psst", "internal"), 422, "body.visibility"),
        (
            intake.comment(incident_id, {"kind": "customer", "id": "eve"}, "hi"),
            422,
            "body.author.id",
        ),
        (intake.comment(incident_id, {"kind": "bot"}, "hi"), 422, "body.author"),
        (intake.comment(incident_id, AGENT, ""), 422, "body.body"),
    ]
    for request, status, field in cases:
        response = await request
        assert response.status_code == status, (field, response.text)
        assert response.headers["content-type"] == "application/problem+json"
        problem = response.json()
        fields = [problem.get("field")] + [e["field"] for e in problem.get("errors", [])]
        assert any(f and f.startswith(field) for f in fields), (field, problem)
    refused = await intake.move(incident_id, "in_progress")
    assert refused.json()["allowed"] == ["resolved"] and refused.json()["current_status"] == "new"
    unknown = await intake.move(str(uuid4()), "resolved", resolution_summary="x")
    assert unknown.status_code == 404
    assert (
        await intake.metric("incident_changes_refused_total", reason="transition_not_allowed") == 2
    )
    published = "SELECT count(*) FROM intake.outbox WHERE message_key = :id"
    assert await intake.scalar(published, id=incident_id) == 1  # only the report


async def test_concurrent_changes_apply_one_after_another(intake: RunningIntake) -> None:
    incident_id = await reported(intake)
    answers = await asyncio.gather(
        *(intake.move(incident_id, "resolved", resolution_summary=f"fix {i}") for i in range(5))
    )
    assert [a.status_code for a in answers] == [200] * 5
    resolved = "SELECT count(*) FROM intake.outbox WHERE message_key = :id AND event_type = :t"
    assert await intake.scalar(resolved, id=incident_id, t="incident.resolved.v1") == 1
    assert len({a.json()["resolution"] for a in answers}) == 1


async def test_reopening_yields_to_a_newer_open_incident_with_the_same_dedup_key(
    intake: RunningIntake,
) -> None:
    dedup_key = f"db-down-{uuid4()}"
    first = await reported(intake, dedup_key=dedup_key)
    await intake.move(first, "resolved", resolution_summary="restarted")
    second = await reported(intake, dedup_key=dedup_key)
    assert second != first
    refused = await intake.move(first, "reopened")
    assert refused.status_code == 409 and refused.json()["title"] == "Dedup key taken"
    assert (await intake.read(first))["status"] == "resolved"
    await intake.move(second, "resolved", resolution_summary="restarted again")
    assert (await intake.move(first, "reopened")).status_code == 200
