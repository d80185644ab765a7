"""A flood of reports against an intake that admits 20 at a time: the rest are answered 503 with
Retry-After at once, the probes are never shed, and careful clients, which retry with their
Idempotency-Key after Retry-After, each get exactly one incident."""

import asyncio
import random
import time
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
from harness import EventReader, eventually, migrate, running_app
from incident_devstack.pytest_plugin import Infra
from incident_kit.clock import FrozenClock
from intake.app import create_app
from intake.config import IntakeSettings
from integration.intake.support import API_KEY, T0, RunningIntake, report_body
from sqlalchemy.ext.asyncio import create_async_engine

pytestmark = pytest.mark.integration
MAX_IN_FLIGHT = 20
CLIENTS = 300
GIVE_UP_SECONDS = 180  # a 2-core machine shared with other work can be slow


@pytest.fixture
async def crowded_intake(
    infra: Infra, fresh_database_url: str, kafka_topic_prefix: str
) -> AsyncIterator[RunningIntake]:
    """Intake as in conftest.py, with a small bound on the requests it works on at once."""
    await asyncio.to_thread(migrate, fresh_database_url, "intake")
    servers = infra.kafka_bootstrap_servers
    settings = IntakeSettings(
        kafka_bootstrap_servers=servers,
        database_url=fresh_database_url,
        api_keys=API_KEY,
        kafka_topic_prefix=kafka_topic_prefix,
        max_in_flight_requests=MAX_IN_FLIGHT,
        overload_retry_after_seconds=1,
    )
    clock = FrozenClock(T0)
    engine = create_async_engine(settings.database_url)
    async with (
        running_app(create_app(settings, clock)) as client,
        EventReader(servers, [f"{kafka_topic_prefix}incidents"]) as reader,
    ):
        yield RunningIntake(client, reader, clock, servers, kafka_topic_prefix, engine)
    await engine.dispose()


@dataclass
class Outcome:
    key: str
    statuses: list[int]  # every answer, in order
    titles: list[str]  # of the 503 problems
    incident_ids: set[str]  # from every answer that carried one


async def careful_client(intake: RunningIntake, number: int) -> Outcome:
    """Reports once; on 503 waits Retry-After plus a jitter that doubles with each attempt (so
    retries neither come back as one wave nor keep a loaded service busy turning them away),
    then sends the same request with the same Idempotency-Key again."""
    outcome = Outcome(f"flood-{number}", [], [], set())
    body = report_body(title=f"Flood report {number}")
    deadline = time.monotonic() + GIVE_UP_SECONDS
    while time.monotonic() < deadline:
        response = await intake.report(body, key=outcome.key)
        outcome.statuses.append(response.status_code)
        if response.status_code != 503:
            outcome.incident_ids.add(response.json()["incident_id"])
            return outcome
        assert response.headers["content-type"] == "application/problem+json"
        outcome.titles.append(response.json()["title"])
        jitter = random.uniform(0, min(2 ** len(outcome.titles), 8))
        await asyncio.sleep(int(response.headers["Retry-After"]) + jitter)
    raise AssertionError(f"{outcome.key} was never accepted: {outcome.statuses}")


async def test_a_flood_is_shed_and_retries_make_one_incident_each(
    crowded_intake: RunningIntake,
) -> None:
    intake = crowded_intake
    flood = [asyncio.create_task(careful_client(intake, n)) for n in range(CLIENTS)]

    async def saturated() -> bool:
        return await intake.metric("http_requests_in_flight") == MAX_IN_FLIGHT

    await eventually(saturated, timeout=10, every=0.005)
    alive, ready = await intake.client.get("/healthz"), await intake.client.get("/readyz")
    outcomes = await asyncio.gather(*flood)

    # Probes are never shed (readiness itself may be slow on a busy machine: its checks decide).
    assert alive.status_code == 200 and "checks" in ready.json()
    answers = Counter(status for outcome in outcomes for status in outcome.statuses)
    assert set(answers) <= {201, 200, 503}
    shed = Counter(title for outcome in outcomes for title in outcome.titles)["Overloaded"]
    assert shed >= CLIENTS - MAX_IN_FLIGHT  # the first wave alone sheds that many
    for outcome in outcomes:
        assert outcome.statuses[-1] in {200, 201} and len(outcome.incident_ids) == 1, outcome

    incident_ids = {i for outcome in outcomes for i in outcome.incident_ids}
    assert len(incident_ids) == CLIENTS  # one incident per key, no key shares one
    assert await intake.scalar("SELECT count(*) FROM intake.incidents") == CLIENTS
    keyed = (
        "SELECT count(DISTINCT incident_id) FROM intake.idempotency_keys WHERE key LIKE 'flood-%'"
    )
    assert await intake.scalar(keyed) == CLIENTS
    assert await intake.metric("http_requests_shed_total") == shed
    overloaded = {"route": "unmatched", "reason": "overloaded"}
    assert await intake.metric("intake_requests_rejected_total", **overloaded) == shed
    assert await intake.metric("http_requests_in_flight") == 0
