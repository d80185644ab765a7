"""The router app on the real Kafka and a fresh PostgreSQL database, and helpers to drive it.

Each app gets its own topic prefix (topics and consumer group): nothing another test or a
`make up` stack publishes reaches it, and nothing it publishes reaches them, so the queue, the
metrics and the dead-letter topic hold this test's messages only.
"""

import asyncio
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import uuid4

import harness
import httpx
import pytest
from incident_devstack.pytest_plugin import Infra
from incident_events import Event, EventData, new_event
from incident_events.incidents import CustomerRef, IncidentReported, IncidentResolved
from incident_events.types import Channel, Severity
from incident_kit.clock import FrozenClock
from router.app import create_app
from router.config import RouterSettings

T0 = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)
KEY = "k"
AUTH = {"Authorization": f"Bearer {KEY}"}
LANGUAGE = "cs"
SKILL = "payments"


@dataclass
class RouterUnderTest:
    client: httpx.AsyncClient
    reader: harness.EventReader
    clock: FrozenClock
    bootstrap: str
    prefix: str

    async def put_agent(self, agent_id: str, **changes: Any) -> httpx.Response:
        body = {
            "name": f"Agent {agent_id}",
            "email": f"{agent_id}@example.com",
            "skills": {SKILL: 4, "billing": 2},
            "languages": [LANGUAGE],
            "tier": 3,
            "capacity": 2,
            "presence": "online",
            **changes,
        }
        return await self.client.put(f"/v1/agents/{agent_id}", json=body, headers=AUTH)

    def reported(
        self, severity: Severity = Severity.HIGH, language: str = LANGUAGE, **changes: Any
    ) -> Event[IncidentReported]:
        incident_id = f"inc-{uuid4()}"
        data = IncidentReported(
            incident_id=incident_id,
            reference="INC-000001",
            title="Checkout is down",
            severity=severity,
            channel=Channel.API,
            customer=CustomerRef(customer_id="cust-1", language=language),
            language=language,
            required_skills=[SKILL],
            reported_at=self.clock.now(),
            **changes,
        )
        return new_event(data, source="/intake", now=self.clock.now())

    def resolved(self, incident_id: str) -> Event[IncidentResolved]:
        data = IncidentResolved(incident_id=incident_id, resolved_at=self.clock.now())
        return new_event(data, source="/intake", now=self.clock.now())

    async def publish(self, event: Event[Any]) -> None:
        await harness.publish_event(self.bootstrap, event, prefix=self.prefix)

    async def next_fact(self, incident_id: str, event_type: str) -> Event[EventData]:
        return await self.reader.wait_for(
            lambda e: e.subject == incident_id and e.type == event_type
        )

    async def agent(self, agent_id: str) -> dict[str, Any]:
        response = await self.client.get(f"/v1/agents/{agent_id}", headers=AUTH)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    async def queue(self) -> list[dict[str, Any]]:
        """The incidents in the queue, in queue order."""
        response = await self.client.get("/v1/queue", headers=AUTH)
        assert response.status_code == 200, response.text
        items: list[dict[str, Any]] = response.json()["items"]
        return items

    async def queued_ids(self) -> list[str]:
        return [item["incident_id"] for item in await self.queue()]

    async def metric(self, sample: str) -> float:
        text = (await self.client.get("/metrics")).text
        match = re.search(rf"^{re.escape(sample)} (\S+)$", text, re.MULTILINE)
        assert match, f"{sample} not exported"
        return float(match.group(1))


@pytest.fixture
async def router(
    infra: Infra, fresh_database_url: str, kafka_topic_prefix: str
) -> AsyncIterator[RouterUnderTest]:
    # Alembic runs its own event loop, so it may not run on the test's loop thread.
    await asyncio.to_thread(harness.migrate, fresh_database_url, "router")
    prefix = kafka_topic_prefix
    clock = FrozenClock(T0)
    settings = RouterSettings(
        kafka_bootstrap_servers=infra.kafka_bootstrap_servers,
        database_url=fresh_database_url,
        api_keys=KEY,
        kafka_topic_prefix=prefix,
        # Only what changes the queue recounts it within a test (router.queue_depth).
        queue_depth_refresh_seconds=3600,
    )
    app = create_app(settings, clock)
    bootstrap = infra.kafka_bootstrap_servers
    async with (
        harness.running_app(app) as client,
        harness.EventReader(bootstrap, [f"{prefix}assignments"]) as reader,
    ):
        yield RouterUnderTest(client, reader, clock, bootstrap, prefix)
