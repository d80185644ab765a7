"""Readiness checks are bounded in time, fail closed and are shared by callers that come
together; liveness reports a background task or a consume task that ended while the service
runs, and nothing once it is stopping."""

import asyncio
import time
from typing import Any

from faststream.kafka import KafkaBroker
from incident_kit.probes import Liveness, Readiness, run_checks


async def answers() -> bool:
    return True


async def hangs() -> bool:
    await asyncio.Event().wait()
    return True


async def raises() -> bool:
    raise ConnectionRefusedError("nobody listens")


async def test_checks_run_together_and_a_hung_one_is_false_in_time() -> None:
    started = time.monotonic()
    verdicts = await run_checks(
        {"postgresql": answers, "kafka": hangs, "smtp": raises, "other": hangs}, timeout=0.2
    )
    assert verdicts == {"postgresql": True, "kafka": False, "smtp": False, "other": False}
    assert time.monotonic() - started < 1.0  # the two hung checks waited side by side


async def test_readiness_is_checked_once_for_callers_that_come_together() -> None:
    rounds = 0
    release = asyncio.Event()

    async def counted() -> bool:
        nonlocal rounds
        rounds += 1
        await release.wait()
        return True

    readiness = Readiness({"postgresql": counted}, timeout=5, fresh_seconds=0)
    callers = [asyncio.create_task(readiness()) for _ in range(50)]
    await asyncio.sleep(0.01)
    callers[0].cancel()  # one prober hangs up; the others still get the verdict
    release.set()
    verdicts = await asyncio.gather(*callers[1:])
    assert verdicts == [{"postgresql": True}] * 49 and rounds == 1
    assert await readiness() == {"postgresql": True} and rounds == 2  # stale: a new round


async def forever() -> None:
    await asyncio.Event().wait()


async def fails() -> None:
    raise RuntimeError("the loop broke")


async def test_a_background_task_that_ended_is_reported_by_name() -> None:
    liveness = Liveness(list)
    running = asyncio.create_task(forever())
    broken = asyncio.create_task(fails())
    liveness.watch("background loop ClockTimer.run", running)
    liveness.watch("outbox relay task outbox-relay", broken)
    await asyncio.wait([broken])
    # Only the class is shown (/healthz is unauthenticated); the message goes to the log.
    assert liveness.failures() == ["outbox relay task outbox-relay: failed with RuntimeError"]

    running.cancel()
    await asyncio.wait([running])
    assert len(liveness.failures()) == 2

    liveness.stop_watching()
    assert liveness.failures() == []


def subscriber_on(broker: KafkaBroker, topic: str) -> Any:
    subscriber = broker.subscriber(topic, group_id="g")

    @subscriber
    async def handle(_: bytes) -> None:
        pass

    return subscriber


async def test_a_running_consumer_whose_consume_task_ended_is_reported() -> None:
    broker = KafkaBroker("127.0.0.1:1")  # never connected: only its subscribers are used
    subscriber = subscriber_on(broker, "incidents")
    liveness = Liveness(lambda: broker.subscribers)
    assert liveness.failures() == []  # not started

    # What FastStream keeps: the consume task of a running subscriber.
    subscriber.running = True
    consuming = asyncio.create_task(forever())
    subscriber.tasks.append(consuming)
    assert liveness.failures() == []

    consuming.cancel()
    await asyncio.wait([consuming])
    assert liveness.failures() == ["consumer of incidents: its consume task ended"]

    # A task that raised stays listed beside the successor FastStream started: alive.
    subscriber.tasks.append(asyncio.create_task(forever()))
    assert liveness.failures() == []

    subscriber.running = False  # stopped: its tasks end on purpose
    for task in subscriber.tasks:
        task.cancel()
    assert liveness.failures() == []
