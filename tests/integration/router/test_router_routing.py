"""Routing on the real Kafka and PostgreSQL: assign with a reason, queue, release, redelivery,
capacity, agents coming online or leaving, and dead letters."""

from datetime import timedelta
from uuid import uuid4

import harness
import pytest
from incident_events.types import Severity

from .conftest import AUTH, SKILL, RouterUnderTest

pytestmark = pytest.mark.integration

ASSIGNED = "incident.assigned.v1"
QUEUED = "assignment.queued.v1"


async def test_assigns_the_matching_agent_with_the_reason(router: RouterUnderTest) -> None:
    assert (await router.put_agent("junior", tier=1)).status_code == 201
    assert (await router.put_agent("senior", skills={SKILL: 3})).status_code == 201
    assert (await router.put_agent("mute", languages=["la"], capacity=9)).status_code == 201
    reported = router.reported(Severity.CRITICAL)
    await router.publish(reported)

    assigned = await router.next_fact(reported.subject, ASSIGNED)

    assert assigned.data.model_dump(include={"agent_id", "agent_name", "reason"}) == {
        "agent_id": "senior",
        "agent_name": "Agent senior",
        "reason": "skills payments:3; speaks cs; tier 3 >= 3 for critical; load 0/2",
    }
    assert assigned.causationid == str(reported.id)
    assert (await router.agent("senior"))["active_count"] == 1
    assert await router.metric('assignments_total{outcome="assigned"}') == 1


async def test_capacity_queue_and_release(router: RouterUnderTest) -> None:
    await router.put_agent("solo", capacity=1)
    first, second = router.reported(), router.reported()
    await router.publish(first)
    assert (await router.next_fact(first.subject, ASSIGNED)).data.agent_id == "solo"  # type: ignore[attr-defined]
    await router.publish(second)

    queued = await router.next_fact(second.subject, QUEUED)
    assert "at capacity" in queued.data.reason  # type: ignore[attr-defined]
    assert await router.queued_ids() == [second.subject]
    await harness.eventually(lambda: _metric_is(router, "queue_depth", 1))

    await router.publish(router.resolved(first.subject))
    assigned = await router.next_fact(second.subject, ASSIGNED)

    assert assigned.data.agent_id == "solo"  # type: ignore[attr-defined]
    assert assigned.causationid is not None
    assert await router.queued_ids() == []
    assert (await router.agent("solo"))["active_count"] == 1
    await harness.eventually(lambda: _metric_is(router, "queue_depth", 0))


async def test_unplaceable_incidents_wait_in_the_queue_by_severity(
    router: RouterUnderTest,
) -> None:
    await router.put_agent("latinist", languages=["la"])
    low, critical = router.reported(Severity.LOW), router.reported(Severity.CRITICAL)
    await router.publish(low)
    queued = await router.next_fact(low.subject, QUEUED)
    router.clock.advance(timedelta(minutes=5))
    await router.publish(critical)
    await router.next_fact(critical.subject, QUEUED)

    assert queued.data.reason == "no online agent speaks cs with skills payments"  # type: ignore[attr-defined]
    queue = await router.queue()
    assert [item["incident_id"] for item in queue] == [critical.subject, low.subject]
    assert queue[0]["severity"] == "critical" and queue[0]["language"] == "cs"

    # An agent who can take them comes online: the most severe goes first, up to capacity.
    response = await router.put_agent("polyglot", capacity=1)
    assert response.status_code == 201 and response.json()["active_count"] == 1
    assert (await router.next_fact(critical.subject, ASSIGNED)).data.agent_id == "polyglot"  # type: ignore[attr-defined]
    assert await router.queued_ids() == [low.subject]


async def test_redelivery_assigns_once(router: RouterUnderTest) -> None:
    await router.put_agent("solo", capacity=5)
    reported = router.reported()
    await router.publish(reported)
    await router.publish(reported)
    await router.next_fact(reported.subject, ASSIGNED)

    # The resolution comes after both copies on the incident's partition: once it is applied,
    # the copy has been handled too. One assignment then means a load of 0, never 1.
    await router.publish(router.resolved(reported.subject))
    await harness.eventually(lambda: _load_is(router, "solo", 0))
    assert await router.metric('assignments_total{outcome="assigned"}') == 1


async def test_a_report_of_an_incident_already_routed_changes_nothing(
    router: RouterUnderTest,
) -> None:
    # The same incident reported again under another event id (the inbox lets it through):
    # while its agent is full, so that placing it anew would queue it, and once there is room.
    await router.put_agent("solo", capacity=1)
    reported = router.reported()
    await router.publish(reported)
    await router.next_fact(reported.subject, ASSIGNED)
    await router.publish(reported.model_copy(update={"id": uuid4()}))
    await router.put_agent("other", capacity=5)
    await router.publish(reported.model_copy(update={"id": uuid4()}))

    # The resolution comes after both copies on the incident's partition.
    await router.publish(router.resolved(reported.subject))
    await harness.eventually(lambda: _load_is(router, "solo", 0))
    assert (await router.agent("other"))["active_count"] == 0
    assert await router.queued_ids() == []
    assert await router.metric('assignments_total{outcome="assigned"}') == 1
    assert await router.metric('assignments_total{outcome="queued"}') == 0


async def _load_is(router: RouterUnderTest, agent_id: str, load: int) -> bool:
    return bool((await router.agent(agent_id))["active_count"] == load)


async def _metric_is(router: RouterUnderTest, sample: str, value: float) -> bool:
    return await router.metric(sample) == value


async def test_removing_an_agent_routes_its_incidents_again(router: RouterUnderTest) -> None:
    await router.put_agent("leaving", capacity=1)
    reported = router.reported()
    await router.publish(reported)
    await router.next_fact(reported.subject, ASSIGNED)

    response = await router.client.delete("/v1/agents/leaving", headers=AUTH)

    assert response.status_code == 204
    requeued = await router.next_fact(reported.subject, QUEUED)
    assert "no agent is online" in requeued.data.reason  # type: ignore[attr-defined]
    assert await router.queued_ids() == [reported.subject]
    missing = await router.client.get("/v1/agents/leaving", headers=AUTH)
    assert missing.status_code == 404


async def test_garbage_goes_to_the_dead_letter_topic(router: RouterUnderTest) -> None:
    key, body, topic = "garbage", b"this is not an event", f"{router.prefix}incidents"
    await harness.publish_raw(router.bootstrap, topic, key, body)

    # Only this test's router consumes the prefixed topic: what lands on its DLQ is the router's.
    record = await harness.read_raw(router.bootstrap, f"{topic}.dlq", lambda r: True)

    assert (record.key, record.value) == (key.encode(), body)
    headers = harness.headers_of(record)
    assert headers["dlq-reason"].startswith("EventParseError")
    assert headers["dlq-original-topic"] == topic
