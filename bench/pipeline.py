"""The system under load: POST incidents to intake at a fixed rate and time each one until
router's `incident.assigned.v1` for it appears on Kafka."""

import asyncio
import time
from dataclasses import dataclass, field
from uuid import uuid4

import httpx
from aiokafka import AIOKafkaConsumer
from incident_events import EventParseError, parse_event

from bench.baseline import pace, wait_for_assignment
from bench.stats import summarize


@dataclass
class Tally:
    """What the POSTs of one run gave: when each incident was sent, response times, errors."""

    posted: dict[str, float] = field(default_factory=dict)
    answered: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


async def post_to_assigned(
    env: dict[str, str], *, count: int, rate: float, agents: int, warmup: int
) -> dict[str, float]:
    """Post `warmup` incidents unmeasured (a cold JVM and cold caches skew the first seconds),
    then `count` measured ones, at `rate` per second."""
    run = uuid4().hex[:8]
    skill = f"bench-{run}"
    headers = {"Authorization": f"Bearer {env['API_KEY']}"}
    async with httpx.AsyncClient(headers=headers, timeout=30) as client:
        await _create_agents(client, env["ROUTER_URL"], run, skill, agents)
        consumer = AIOKafkaConsumer(
            "assignments",
            bootstrap_servers=env["KAFKA_BOOTSTRAP_SERVERS"],
            group_id=f"bench-{run}",
            auto_offset_reset="latest",
        )
        await consumer.start()
        try:
            await wait_for_assignment(consumer)
            if warmup:
                await _measure(client, consumer, env["INTAKE_URL"], skill, warmup, rate)
            return await _measure(client, consumer, env["INTAKE_URL"], skill, count, rate)
        finally:
            await consumer.stop()
            await _sign_off(client, env["ROUTER_URL"], run, skill, agents)


async def _measure(
    client: httpx.AsyncClient,
    consumer: AIOKafkaConsumer,
    intake: str,
    skill: str,
    count: int,
    rate: float,
) -> dict[str, float]:
    tally = Tally()
    all_posted = asyncio.Event()
    waiting = asyncio.create_task(_collect(consumer, tally.posted, all_posted))
    started = time.perf_counter()
    await _post_all(client, intake, skill, tally, count, rate)
    all_posted.set()
    latencies = await asyncio.wait_for(waiting, timeout=300)
    elapsed = time.perf_counter() - started
    if tally.errors:
        print(f"{len(tally.errors)} POSTs failed, the first: {tally.errors[0]}")
    responses = summarize(tally.answered, elapsed)
    return summarize(latencies, elapsed) | {
        "errors": len(tally.errors),
        "post_response_p50_ms": responses["p50_ms"],
        "post_response_p99_ms": responses["p99_ms"],
    }


async def _create_agents(
    client: httpx.AsyncClient, router: str, run: str, skill: str, agents: int
) -> None:
    for index in range(agents):
        response = await client.put(
            f"{router}/v1/agents/bench-{run}-{index}",
            json=_agent(index, skill, "online"),
        )
        response.raise_for_status()


def _agent(index: int, skill: str, presence: str) -> dict[str, object]:
    return {
        "name": f"Bench agent {index}",
        "skills": {skill: 3},
        "languages": ["en"],
        "tier": 3,
        "capacity": 100,
        "presence": presence,
    }


async def _sign_off(
    client: httpx.AsyncClient, router: str, run: str, skill: str, agents: int
) -> None:
    """Take the run's agents offline. Deleting them would re-route every incident they hold,
    a storm of reassignments that would still be loading the stack when the next run starts."""
    for index in range(agents):
        await client.put(
            f"{router}/v1/agents/bench-{run}-{index}", json=_agent(index, skill, "offline")
        )


async def _post_all(
    client: httpx.AsyncClient,
    intake: str,
    skill: str,
    tally: Tally,
    count: int,
    rate: float,
) -> None:
    started = time.perf_counter()
    requests = []
    for index in range(count):
        requests.append(asyncio.create_task(_post_one(client, intake, skill, tally)))
        await pace(started, index + 1, rate)
    await asyncio.gather(*requests)


async def _post_one(
    client: httpx.AsyncClient,
    intake: str,
    skill: str,
    tally: Tally,
) -> None:
    """POST one incident; a failed request is counted, not waited for."""
    sent_at = time.perf_counter()
    try:
        response = await client.post(
            f"{intake}/v1/incidents",
            json={
                "title": "Bench incident",
                "severity": "medium",
                "required_skills": [skill],
                "customer": {"email": "bench@example.com", "language": "en"},
            },
        )
    except httpx.HTTPError as error:
        tally.errors.append(f"{type(error).__name__}: {error}")
        return
    if response.status_code != 201:
        tally.errors.append(f"HTTP {response.status_code}: {response.text[:200]}")
        return
    tally.answered.append(time.perf_counter() - sent_at)
    tally.posted[response.json()["incident_id"]] = sent_at


async def _collect(
    consumer: AIOKafkaConsumer, posted: dict[str, float], all_posted: asyncio.Event
) -> list[float]:
    """Time every posted incident until its assignment; done once all are posted and seen."""
    latencies: dict[str, float] = {}
    early: dict[str, float] = {}  # assigned before the POST's response told us the id
    while not all_posted.is_set() or len(latencies) < len(posted):
        batches = await consumer.getmany(timeout_ms=500)
        now = time.perf_counter()
        for records in batches.values():
            for record in records:
                try:
                    event = parse_event(record.value)
                except EventParseError:
                    continue
                if event.type == "incident.assigned.v1":
                    early[event.subject] = now
        for incident_id in [i for i in early if i in posted]:
            latencies[incident_id] = early.pop(incident_id) - posted[incident_id]
    return list(latencies.values())
