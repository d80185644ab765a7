"""Helpers of intake's integration tests: a request body, and the running service with ways to
publish to its topics, query its database, make API keys of clients and read its metrics."""

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
from harness import EventReader, publish_event
from incident_events import Event
from incident_kit.clock import FrozenClock
from intake import api_keys, repository
from intake.domain import Scope
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
API_KEY = "k"
AUTH = {"Authorization": f"Bearer {API_KEY}"}


def report_body(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "title": "Checkout fails with <b>500</b>",
        "description": "Since 9:00 every payment fails.",
        "severity": "high",
        "customer": {"email": "Ann@Example.com", "name": "Ann Novak", "language": "cs"},
        "required_skills": ["payments"],
    }
    return {**body, **changes}


@dataclass
class RunningIntake:
    client: httpx.AsyncClient
    reader: EventReader
    clock: FrozenClock
    servers: str
    prefix: str
    engine: AsyncEngine

    async def report(
        self, body: dict[str, Any], *, key: str | None = None, auth: dict[str, str] = AUTH
    ) -> httpx.Response:
        headers = {**auth, **({"Idempotency-Key": key} if key else {})}
        return await self.client.post("/v1/incidents", json=body, headers=headers)

    async def client_auth(self, client_id: str, *scopes: Scope) -> dict[str, str]:
        """The Authorization header of a new key of the client (created with its first key)."""
        issued = api_keys.issue_key()
        async with AsyncSession(self.engine) as session, session.begin():
            await repository.add_key(
                session,
                client_id=client_id,
                key_id=issued.key_id,
                digest=issued.digest,
                scopes=scopes,
                now=self.clock.now(),
            )
        return {"Authorization": f"Bearer {issued.key}"}

    async def move(self, incident_id: str, status: str, **fields: Any) -> httpx.Response:
        """POST a status change; the reason defaults to one naming the status."""
        body = {"status": status, "reason": f"to {status}", **fields}
        return await self.client.post(
            f"/v1/incidents/{incident_id}/status", json=body, headers=AUTH
        )

    async def comment(
        self, incident_id: str, author: dict[str, Any], body: str, visibility: str = "public"
    ) -> httpx.Response:
        document = {"author": author, "body": body, "visibility": visibility}
        return await self.client.post(
            f"/v1/incidents/{incident_id}/comments", json=document, headers=AUTH
        )

    async def read(self, incident_id: str) -> dict[str, Any]:
        response = await self.client.get(f"/v1/incidents/{incident_id}", headers=AUTH)
        assert response.status_code == 200, response.text
        document: dict[str, Any] = response.json()
        return document

    async def publish(self, event: Event[Any]) -> None:
        await publish_event(self.servers, event, prefix=self.prefix)

    async def scalar(self, sql: str, **params: Any) -> Any:
        async with self.engine.connect() as connection:
            return (await connection.execute(text(sql), params)).scalar_one()

    async def execute(self, sql: str, **params: Any) -> None:
        async with self.engine.begin() as connection:
            await connection.execute(text(sql), params)

    async def metric(self, name: str, **labels: str) -> float:
        """A sample from GET /metrics, 0 when absent."""
        exposition = (await self.client.get("/metrics")).text
        for family in text_string_to_metric_families(exposition):
            for sample in family.samples:
                if sample.name == name and all(
                    sample.labels.get(k) == v for k, v in labels.items()
                ):
                    return float(sample.value)
        return 0.0
