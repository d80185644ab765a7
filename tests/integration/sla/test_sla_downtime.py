"""Breaches that stay true across downtime and lag, on the real broker and database: a stop
already waiting in Kafka wins over the timer, a breach found false is retracted by a fact, and
the timer goes by PostgreSQL's time rather than a replica's clock."""

from datetime import timedelta
from uuid import uuid4

import harness
import pytest
from incident_events.sla import (
    SlaBreached,
    SlaBreachRetracted,
    SlaClockStarted,
    SlaMet,
    SlaWarning,
)
from incident_events.types import SlaMetric
from incident_kit.clock import FrozenClock, SystemClock
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


async def test_a_resolution_waiting_in_kafka_after_downtime_stops_the_clock(
    settings: SlaSettings,
) -> None:
    stopped, control = f"inc-{uuid4()}", f"inc-{uuid4()}"
    async with sla_reader(settings) as reader:
        before = FrozenClock(T0)
        async with harness.running_app(create_app(settings, before, timer_clock=before)) as client:
            await client.put("/v1/policies/premium", json=policy_body(), headers=AUTH)
            await publish(settings, reported(stopped))
            await publish(settings, reported(control))
            await wait_for_all(
                reader,
                sla_fact(stopped, SlaClockStarted, RESOLUTION),
                sla_fact(control, SlaClockStarted, RESOLUTION),
            )

        # While sla is down, the incident is resolved within its first-response window.
        await publish(settings, resolved(stopped, at=T0 + timedelta(minutes=30)))

        # sla comes back two hours later: the first-response clocks are long overdue. Its timer
        # may look before its consumer has read anything: one round before the consumer starts.
        after = FrozenClock(T0 + timedelta(hours=2))
        app = create_app(settings, after, timer_clock=after)
        timer: ClockTimer = app.state.timer
        assert await timer.fire_due_clocks() == 0  # the resolution waits in Kafka: nothing fires
        async with harness.running_app(app) as client:
            # The control clock breaches: the timer did run past the deadline, and only once the
            # resolution waiting in Kafka had been applied (its snapshot covers every partition).
            met, _, breach = await wait_for_all(
                reader,
                sla_fact(stopped, SlaMet, FIRST),
                sla_fact(stopped, SlaMet, RESOLUTION),
                sla_fact(control, SlaBreached, FIRST),
            )
            assert isinstance(met.data, SlaMet) and met.data.met_at == T0 + timedelta(minutes=30)
            assert isinstance(breach.data, SlaBreached)
            assert breach.data.breached_at == T0 + timedelta(hours=2)
            # Same key, same partition: a breach of `stopped` would have been read before its met.
            assert not any(
                sla_fact(stopped, fact)(e)
                for e in reader.seen
                for fact in (SlaBreached, SlaWarning)
            )

            answer = (await client.get(f"/v1/incidents/{stopped}/sla", headers=AUTH)).json()
            assert {c["metric"]: c["status"] for c in answer["clocks"]} == {
                "first_response": "met",
                "resolution": "met",
            }
            metrics = (await client.get("/metrics")).text
            assert 'sla_breaches_total{metric="first_response"} 1.0' in metrics
            assert 'sla_breaches_retracted_total{metric="first_response"} 0.0' in metrics

            async def running_clocks() -> bool:  # the control's resolution clock only
                return "sla_running_clocks 1.0" in (await client.get("/metrics")).text

            assert await harness.eventually(running_clocks)


async def test_a_breach_found_false_is_retracted_by_a_fact(settings: SlaSettings) -> None:
    incident_id, clock = f"inc-{uuid4()}", FrozenClock(T0)
    app = create_app(settings, clock, timer_clock=clock)
    async with harness.running_app(app) as client, sla_reader(settings) as reader:
        await client.put("/v1/policies/premium", json=policy_body(), headers=AUTH)
        await publish(settings, reported(incident_id))
        await reader.wait_for(sla_fact(incident_id, SlaClockStarted, RESOLUTION))

        clock.advance(timedelta(hours=2))  # nothing waits in Kafka: the timer breaches
        breach = (await reader.wait_for(sla_fact(incident_id, SlaBreached, FIRST))).data
        assert isinstance(breach, SlaBreached)

        # The agent had replied at 50 minutes, but the reply reached Kafka only now (held in
        # intake's outbox for longer than the grace): the breach was false.
        replied_at = T0 + timedelta(minutes=50)
        await publish(settings, first_reply(incident_id, at=replied_at))
        retracted = (await reader.wait_for(sla_fact(incident_id, SlaBreachRetracted))).data
        assert isinstance(retracted, SlaBreachRetracted)
        assert (retracted.clock_id, retracted.metric) == (breach.clock_id, FIRST)
        assert (retracted.due_at, retracted.met_at) == (T0 + timedelta(hours=1), replied_at)
        assert not any(sla_fact(incident_id, SlaMet, FIRST)(e) for e in reader.seen)

        answer = (await client.get(f"/v1/incidents/{incident_id}/sla", headers=AUTH)).json()
        first = next(c for c in answer["clocks"] if c["metric"] == "first_response")
        assert (first["status"], first["time_to_breach_seconds"]) == ("met", None)
        metrics = (await client.get("/metrics")).text
        assert 'sla_breaches_retracted_total{metric="first_response"} 1.0' in metrics


async def test_the_timer_goes_by_the_database_time_not_the_replica_clock(
    settings: SlaSettings,
) -> None:
    # The host's time, which the local PostgreSQL shares; this replica's clock runs 2 h ahead.
    real = SystemClock().now()
    replica = FrozenClock(real + timedelta(hours=2))
    timely, overdue = f"inc-{uuid4()}", f"inc-{uuid4()}"
    app = create_app(settings, replica)  # no timer clock: the timer asks PostgreSQL
    async with harness.running_app(app) as client, sla_reader(settings) as reader:
        await client.put("/v1/policies/premium", json=policy_body(), headers=AUTH)
        await publish(settings, reported(timely, at=real))  # due in an hour
        await reader.wait_for(sla_fact(timely, SlaClockStarted, RESOLUTION))
        await publish(settings, reported(overdue, at=real - timedelta(hours=2)))  # due 1 h ago

        breach = (await reader.wait_for(sla_fact(overdue, SlaBreached, FIRST))).data
        assert isinstance(breach, SlaBreached)
        assert real <= breach.breached_at <= SystemClock().now()  # not the replica's time
        # By the replica's clock `timely` is overdue too, and was running in the same round.
        answer = (await client.get(f"/v1/incidents/{timely}/sla", headers=AUTH)).json()
        assert {c["metric"]: c["status"] for c in answer["clocks"]} == {
            "first_response": "running",
            "resolution": "running",
        }
