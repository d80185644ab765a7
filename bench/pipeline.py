"""The system under load: POST incidents to intake at a fixed rate and time each one until
router's `incident.assigned.v1` for it appears on Kafka."""

import asyncio
import time
from uuid import uuid4

import httpx
from aiokafka import AIOKafkaConsumer
from incident_events import EventParseError, parse_event

from bench.baseline import _pace
from bench.stats import summarize


async def post_to_assigned(
    env: dict[str, str], *, count: int, rate: float, agents: int
) -> dict[str, float]:
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
            await _wait_for_assignment(consumer)
            posted: dict[str, float] = {}
            waiting = asyncio.create_task(_collect(consumer, posted, count))
            started = time.perf_counter()
            await _post_all(client, env["INTAKE_URL"], skill, posted, count, rate)
            latencies = await asyncio.wait_for(waiting, timeout=300)
            return summarize(latencies, time.perf_counter() - started) | {"errors": 0}
        finally:
            await consumer.stop()
            for index in range(agents):
                await client.delete(f"{env['ROUTER_URL']}/v1/agents/bench-{run}-{index}")


async def _create_agents(
    client: httpx.AsyncClient, router: str, run: str, skill: str, agents: int
) -> None:
    for index in range(agents):
        response = await client.put(
            f"{router}/v1/agents/bench-{run}-{index}",
            json={
                "name": f"Bench agent {index}",
                "skills": {skill: 3},
                "languages": ["en"],
                "tier": 3,
                "capacity": 100,
                "presence": "online",
            },
        )
        response.raise_for_status()


async def _wait_for_assignment(consumer: AIOKafkaConsumer) -> None:
    """Let the consumer get its partitions before the clock starts."""
    while not consumer.assignment():
        await consumer.getmany(timeout_ms=200)


async def _post_all(
    client: httpx.AsyncClient,
    intake: str,
    skill: str,
    posted: dict[str, float],
    count: int,
    rate: float,
) -> None:
    started = time.perf_counter()
    requests = []
    for index in range(count):
        requests.append(asyncio.create_task(_post_one(client, intake, skill, posted)))
        await _pace(started, index + 1, rate)
    await asyncio.gather(*requests)


async def _post_one(
    client: httpx.AsyncClient, intake: str, skill: str, posted: dict[str, float]
) -> None:
    sent_at = time.perf_counter()
    response = await client.post(
        f"{intake}/v1/incidents",
        json={
            "title": "Bench incident",
            "severity": "medium",
            "required_skills": [skill],
            "customer": {"email": "bench@example.com", "language": "en"},
        },
    )
    response.raise_for_status()
    posted[response.json()["incident_id"]] = sent_at


async def _collect(consumer: AIOKafkaConsumer, posted: dict[str, float], count: int) -> list[float]:
    latencies: dict[str, float] = {}
    early: dict[str, float] = {}  # assigned before the POST's response told us the id
    while len(latencies) < count:
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
