"""Clocks end to end on the real broker and database: start, warn, breach, met, durability,
and redelivery. Time is moved on a FrozenClock, never waited for."""

from datetime import timedelta
from uuid import uuid4

import harness
import pytest
from incident_events import new_event
from incident_events.routing import IncidentAssigned
from incident_events.sla import SlaBreached, SlaClockStarted, SlaMet, SlaWarning
from incident_events.types import SlaMetric
from incident_kit.clock import FrozenClock
from integration.sla.support import (
    AUTH,
    T0,
    first_reply,
    policy_body,
    publish,
    reported,
    resolved,
    sla_fact,
    sla_reader,
    wait_for_all,
)
from sla.app import create_app
from sla.config import SlaSettings
from sla.timer import ClockTimer

pytestmark = pytest.mark.integration
FIRST, RESOLUTION = SlaMetric.FIRST_RESPONSE, SlaMetric.RESOLUTION


async def test_clocks_start_then_warn_then_breach(
    settings: SlaSettings,
) -> None:
    incident_id, clock = f"inc-{uuid4()}", FrozenClock(T0)
    app = create_app(settings, clock, timer_clock=clock)
    timer: ClockTimer = app.state.timer
    async with (
        harness.running_app(app) as client,
        sla_reader(settings) as reader,
    ):
        assert (
            await client.put("/v1/policies/premium", json=policy_body(), headers=AUTH)
        ).status_code == 201
        await publish(settings, reported(incident_id))

        started = await wait_for_all(
            reader,
            sla_fact(incident_id, SlaClockStarted, FIRST),
            sla_fact(incident_id, SlaClockStarted, RESOLUTION),
        )
        for event, target in zip(started, (timedelta(hours=1), timedelta(hours=8)), strict=True):
            assert isinstance(event.data, SlaClockStarted)
            assert (event.data.started_at, event.data.due_at) == (T0, T0 + target)
            assert event.data.target_seconds == target.total_seconds()
            assert event.data.policy_id == "premium"

        await timer.fire_due_clocks(now=clock.advance(timedelta(minutes=46)))  # past 75% of 1h
        warning = (await reader.wait_for(sla_fact(incident_id, SlaWarning, FIRST))).data
        assert isinstance(warning, SlaWarning) and warning.percent == 75

        await timer.fire_due_clocks(now=clock.advance(timedelta(minutes=15)))  # past due
        breach = (await reader.wait_for(sla_fact(incident_id, SlaBreached, FIRST))).data
        assert isinstance(breach, SlaBreached) and breach.due_at == T0 + timedelta(hours=1)
        kinds = [type(e.data) for e in reader.seen if e.subject == incident_id]
        assert kinds.index(SlaWarning) < kinds.index(SlaBreached)

        answer = await client.get(f"/v1/incidents/{incident_id}/sla", headers=AUTH)
        assert answer.status_code == 200
        clocks = {c["metric"]: c for c in answer.json()["clocks"]}
        assert clocks["first_response"]["status"] == "breached"
        assert clocks["first_response"]["time_to_breach_seconds"] == -60.0
        assert clocks["resolution"]["status"] == "running"
        assert clocks["resolution"]["time_to_breach_seconds"] == 8 * 3600 - 61 * 60

        metrics = (await client.get("/metrics")).text
        assert 'sla_breaches_total{metric="first_response"} 1.0' in metrics
        assert 'sla_warnings_total{metric="first_response"} 1.0' in metrics
        assert 'sla_clocks_started_total{metric="resolution"} 1.0' in metrics


async def test_first_reply_meets_the_clock_and_nothing_breaches_later(
    settings: SlaSettings,
) -> None:
    incident_id, clock = f"inc-{uuid4()}", FrozenClock(T0)
    app = create_app(settings, clock, timer_clock=clock)
    timer: ClockTimer = app.state.timer
    async with (
        harness.running_app(app) as client,
        sla_reader(settings) as reader,
    ):
        await client.put("/v1/policies/premium", json=policy_body(), headers=AUTH)
        await publish(settings, reported(incident_id))
        await reader.wait_for(sla_fact(incident_id, SlaClockStarted, RESOLUTION))

        replied_at = clock.advance(timedelta(minutes=10))
        await publish(settings, first_reply(incident_id, at=replied_at))
        met = (await reader.wait_for(sla_fact(incident_id, SlaMet, FIRST))).data
        assert isinstance(met, SlaMet) and met.met_at == replied_at

        await timer.fire_due_clocks(now=clock.advance(timedelta(hours=2)))  # past first due
        resolved_at = clock.now()
        await publish(settings, resolved(incident_id, at=resolved_at))
        # Same key, same partition: anything fired before the resolution was read before it.
        await reader.wait_for(sla_fact(incident_id, SlaMet, RESOLUTION))
        assert not any(sla_fact(incident_id, SlaBreached)(e) for e in reader.seen)
        assert not any(sla_fact(incident_id, SlaWarning)(e) for e in reader.seen)

        answer = (await client.get(f"/v1/incidents/{incident_id}/sla", headers=AUTH)).json()
        assert [
            (c["metric"], c["status"], c["time_to_breach_seconds"]) for c in answer["clocks"]
        ] == [
            ("first_response", "met", None),
            ("resolution", "met", None),
        ]


async def test_a_restarted_service_fires_overdue_clocks_at_once(
    settings: SlaSettings,
) -> None:
    incident_id = f"inc-{uuid4()}"
    async with sla_reader(settings) as reader:
        before = FrozenClock(T0)
        first = create_app(settings, before, timer_clock=before)
        async with harness.running_app(first) as client:
            await client.put("/v1/policies/premium", json=policy_body(), headers=AUTH)
            await publish(settings, reported(incident_id))
            await reader.wait_for(sla_fact(incident_id, SlaClockStarted, RESOLUTION))

        # A second instance on the same database, two hours later: nobody calls the timer,
        # its background loop finds the overdue first-response clock on start.
        after = FrozenClock(T0 + timedelta(hours=2))
        second = create_app(settings, after, timer_clock=after)
        async with harness.running_app(second) as client:
            breach = (await reader.wait_for(sla_fact(incident_id, SlaBreached, FIRST))).data
            assert isinstance(breach, SlaBreached) and breach.breached_at == T0 + timedelta(hours=2)
            answer = (await client.get(f"/v1/incidents/{incident_id}/sla", headers=AUTH)).json()
            statuses = {c["metric"]: c["status"] for c in answer["clocks"]}
            assert statuses == {"first_response": "breached", "resolution": "running"}


async def test_a_redelivered_report_starts_one_set_of_clocks(
    settings: SlaSettings,
) -> None:
    incident_id, clock = f"inc-{uuid4()}", FrozenClock(T0)
    app = create_app(settings, clock, timer_clock=clock)
    async with (
        harness.running_app(app) as client,
        sla_reader(settings) as reader,
    ):
        await client.put("/v1/policies/premium", json=policy_body(), headers=AUTH)
        report = reported(incident_id)
        await publish(settings, report)
        await publish(settings, report)  # the same event id again
        await publish(settings, reported(incident_id))  # a new id, same facts
        # A later fact of the same incident: once its effect is seen, the repeats were handled.
        await publish(settings, first_reply(incident_id, at=T0 + timedelta(minutes=5)))
        await reader.wait_for(sla_fact(incident_id, SlaMet, FIRST))

        started = [e for e in reader.seen if sla_fact(incident_id, SlaClockStarted)(e)]
        assert len(started) == 2
        answer = (await client.get(f"/v1/incidents/{incident_id}/sla", headers=AUTH)).json()
        assert len(answer["clocks"]) == 2


async def test_an_assignment_records_the_assignee(settings: SlaSettings) -> None:
    incident_id = f"inc-{uuid4()}"
    clock = FrozenClock(T0)
    app = create_app(settings, clock, timer_clock=clock)
    assigned = IncidentAssigned(
        incident_id=incident_id, agent_id="agent-7", reason="skills match", assigned_at=T0
    )
    async with harness.running_app(app) as client:
        await publish(settings, new_event(assigned, source="/router", now=T0))

        async def assignee() -> object:
            answer = await client.get(f"/v1/incidents/{incident_id}/sla", headers=AUTH)
            return answer.status_code == 200 and answer.json()["assignee_agent_id"]

        assert await harness.eventually(assignee) == "agent-7"
