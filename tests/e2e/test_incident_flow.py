"""One incident through all four services as processes: posted over HTTP, assigned by router,
acknowledged by e-mail over real SMTP, its first-response window breached on Kafka, and
every service's metrics counting the work."""

import asyncio
import re
from email.message import EmailMessage

import httpx
import pytest
from harness import EventReader, eventually
from incident_devstack.pytest_plugin import Infra

from e2e.conftest import System, put_agent_olga, put_policy

pytestmark = [pytest.mark.e2e]
JANA = {"email": "jana@example.cz", "name": "Jana", "language": "cs", "time_zone": "Europe/Prague"}


def body_of(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain", "html"))
    return part.get_content() if part else ""


async def test_incident_is_assigned_acknowledged_and_breached(system: System, infra: Infra) -> None:
    headers = {"Authorization": f"Bearer {system.api_key}"}
    async with httpx.AsyncClient(headers=headers, timeout=10) as http:
        await put_agent_olga(system, http)
        await put_policy(
            system,
            http,
            "fast",
            name="Fast",
            first_response="PT3S",
            resolution="PT1H",
            warn_at_percent=50,
        )

        async with EventReader(
            infra.kafka_bootstrap_servers, [f"{system.topic_prefix}sla"]
        ) as sla_events:
            posted = await http.post(
                f"{system.urls['intake']}/v1/incidents",
                json={
                    "title": "Platba kartou neprochází",
                    "severity": "high",
                    "required_skills": ["payments"],
                    "customer": JANA,
                },
                headers={"Idempotency-Key": "e2e-1"},
            )
            assert posted.status_code == 201, posted.text
            incident = posted.json()

            async def assigned() -> dict[str, object] | None:
                response = await http.get(
                    f"{system.urls['intake']}/v1/incidents/{incident['incident_id']}"
                )
                body: dict[str, object] = response.json()
                return body if body.get("assignee") else None

            shown = await eventually(assigned)
            assert shown["assignee"]["agent_id"] == "olga"  # type: ignore[index]

            async with asyncio.timeout(30):
                acknowledgement = await system.mail.wait_for_message_async(
                    lambda m: incident["reference"] in str(m["Subject"]) + body_of(m)
                )
            assert acknowledgement["To"] == "jana@example.cz"
            assert re.search(r"\d{1,2}:\d{2}", body_of(acknowledgement)), "agreed response time"
            assert "Europe/Prague" in body_of(acknowledgement), "in the customer's time zone"

            breach = await sla_events.wait_for(
                lambda e: e.subject == incident["incident_id"] and e.type == "sla.breached.v1"
            )
            assert breach.data.metric == "first_response"  # type: ignore[attr-defined]

        replay = await http.post(
            f"{system.urls['intake']}/v1/incidents",
            json={
                "title": "Platba kartou neprochází",
                "severity": "high",
                "required_skills": ["payments"],
                "customer": JANA,
            },
            headers={"Idempotency-Key": "e2e-1"},
        )
        assert replay.status_code == 200
        assert replay.json()["incident_id"] == incident["incident_id"]
    await assert_every_service_counted_its_work(system)


async def assert_every_service_counted_its_work(system: System) -> None:
    expected = {
        "intake": "incidents_reported_total",
        "router": "assignments_total",
        "sla": "sla_clocks_started_total",
        "notifier": "notifications_sent_total",
    }
    async with httpx.AsyncClient(timeout=10) as http:
        for service, metric in expected.items():
            text = (await http.get(f"{system.urls[service]}/metrics")).text
            values = [
                float(line.rsplit(" ", 1)[1])
                for line in text.splitlines()
                if line.startswith(metric) and not line.startswith("#")
            ]
            assert sum(values) >= 1, f"{service} {metric}: {values}"
            assert "faststream_received_messages_total" in text, service
