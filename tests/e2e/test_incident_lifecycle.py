"""One incident through its whole life, all four services as processes: reported, assigned,
worked on, answered (the first public agent reply meets the first-response clock), waiting on
the customer and back, resolved with a summary (the agent's load goes back down, the resolution
clock is met, the customer is told the summary by e-mail), reopened, resolved again and closed;
the customer's status page shows each step in their language."""

import asyncio
import re
from email.message import EmailMessage
from typing import Any

import httpx
import pytest
from harness import EventReader, eventually
from incident_devstack.pytest_plugin import Infra

from e2e.conftest import System, put_agent_olga, put_policy

pytestmark = [pytest.mark.e2e]
SUMMARY = "Platební brána měla prošlý certifikát; obnovili jsme ho a platby <kartou> fungují."
# The status page's names of each step, in Czech (the customer's language).
SHOWN = {
    "assigned": "Přiděleno pracovníkovi podpory",
    "in_progress": "Řeší se",
    "waiting_on_customer": "Čekáme na vaši odpověď",
    "resolved": "Vyřešeno",
    "reopened": "Znovu otevřeno",
    "closed": "Uzavřeno",
}


def body_of(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain", "html"))
    return part.get_content() if part else ""


class Journey:
    """The incident's id, the HTTP clients and the customer's status page."""

    def __init__(self, system: System, http: httpx.AsyncClient, incident: dict[str, Any]) -> None:
        self.system, self.http, self.incident = system, http, incident
        self.incident_id: str = incident["incident_id"]
        self.status_url = ""

    def url(self, service: str, path: str) -> str:
        return f"{self.system.urls[service]}{path}"

    async def move(self, status: str, **fields: str) -> dict[str, Any]:
        body = {"status": status, "reason": f"agent moves it to {status}", **fields}
        response = await self.http.post(
            self.url("intake", f"/v1/incidents/{self.incident_id}/status"), json=body
        )
        assert response.status_code == 200, response.text
        document: dict[str, Any] = response.json()
        return document

    async def comment(self, author: dict[str, str], body: str) -> dict[str, Any]:
        response = await self.http.post(
            self.url("intake", f"/v1/incidents/{self.incident_id}/comments"),
            json={"author": author, "body": body, "visibility": "public"},
        )
        assert response.status_code == 201, response.text
        document: dict[str, Any] = response.json()
        return document

    async def page_shows(self, status: str) -> None:
        async def shown() -> bool:
            page = await self.http.get(self.status_url)
            return page.status_code == 200 and SHOWN[status] in page.text

        await eventually(shown)

    async def active_count(self) -> int:
        agent = await self.http.get(self.url("router", "/v1/agents/olga"))
        return int(agent.json()["active_count"])

    async def mail(self, subject_part: str) -> EmailMessage:
        async with asyncio.timeout(30):
            return await self.system.mail.wait_for_message_async(
                lambda m: (
                    self.incident["reference"] in str(m["Subject"])
                    and subject_part in str(m["Subject"])
                )
            )


async def test_one_incident_through_its_whole_life(system: System, infra: Infra) -> None:
    headers = {"Authorization": f"Bearer {system.api_key}"}
    sla_topic = [f"{system.topic_prefix}sla"]
    async with (
        httpx.AsyncClient(headers=headers, timeout=10) as http,
        EventReader(infra.kafka_bootstrap_servers, sla_topic) as sla_events,
    ):
        await put_agent_olga(system, http)
        await put_policy(
            system,
            http,
            "standard",
            name="Standard",
            first_response="PT1H",
            resolution="PT8H",
            warn_at_percent=75,
        )
        posted = await http.post(
            f"{system.urls['intake']}/v1/incidents",
            json={
                "title": "Platba kartou neprochází",
                "severity": "high",
                "kind": "incident",
                "required_skills": ["payments"],
                "customer": {"email": "jana@example.cz", "name": "Jana", "language": "cs"},
            },
        )
        assert posted.status_code == 201, posted.text
        journey = Journey(system, http, posted.json())
        await reported_and_assigned(journey)
        await answered_and_waited_on(journey, sla_events)
        await resolved(journey, sla_events)
        await reopened_resolved_and_closed(journey)


async def reported_and_assigned(journey: Journey) -> None:
    acknowledgement = await journey.mail("přijali")
    link = re.search(r"http://\S+/status/\S+", body_of(acknowledgement))
    assert link, body_of(acknowledgement)
    journey.status_url = link.group(0)
    await journey.page_shows("assigned")
    assert await journey.active_count() == 1


async def answered_and_waited_on(journey: Journey, sla_events: EventReader) -> None:
    await journey.move("in_progress", changed_by="olga")
    await journey.page_shows("in_progress")
    reply = await journey.comment({"kind": "agent", "id": "olga"}, "Díváme se na to.")
    assert reply["first_agent_reply"] is True
    met = await sla_events.wait_for(
        lambda e: (
            e.subject == journey.incident_id
            and e.type == "sla.met.v1"
            and getattr(e.data, "metric", None) == "first_response"
        )
    )
    assert met.data.met_at <= met.data.due_at  # type: ignore[attr-defined]

    await journey.move("waiting_on_customer", changed_by="olga")
    await journey.page_shows("waiting_on_customer")
    answer = await journey.comment({"kind": "customer"}, "Platí to pro všechny karty.")
    assert answer["incident_status"] == "in_progress"
    await journey.page_shows("in_progress")


async def resolved(journey: Journey, sla_events: EventReader) -> None:
    await journey.move("resolved", changed_by="olga", resolution_summary=SUMMARY)
    await journey.page_shows("resolved")

    async def load_released() -> bool:
        return await journey.active_count() == 0

    await eventually(load_released)
    met = await sla_events.wait_for(
        lambda e: (
            e.subject == journey.incident_id
            and e.type == "sla.met.v1"
            and getattr(e.data, "metric", None) == "resolution"
        )
    )
    assert met.data.met_at <= met.data.due_at  # type: ignore[attr-defined]
    resolution = await journey.mail("vyřešili")
    assert resolution["To"] == "jana@example.cz"
    assert SUMMARY in body_of(resolution)


async def reopened_resolved_and_closed(journey: Journey) -> None:
    await journey.move("reopened", reason="Zákaznice hlásí, že platba znovu selhala.")
    await journey.page_shows("reopened")
    await journey.move("resolved", resolution_summary="Vyměnili jsme i záložní certifikát.")
    await journey.page_shows("resolved")
    await journey.move("closed")
    await journey.page_shows("closed")
    refused = await journey.http.post(
        journey.url("intake", f"/v1/incidents/{journey.incident_id}/comments"),
        json={"author": {"kind": "customer"}, "body": "Ještě jedna věc"},
    )
    assert refused.status_code == 409

    detail = (
        await journey.http.get(journey.url("intake", f"/v1/incidents/{journey.incident_id}"))
    ).json()
    steps = [e["to_status"] for e in detail["timeline"] if e["type"] == "status_changed"]
    assert steps == [
        "assigned",
        "in_progress",
        "waiting_on_customer",
        "in_progress",
        "resolved",
        "reopened",
        "resolved",
        "closed",
    ]
    assert [e["type"] for e in detail["timeline"]].count("comment") == 2
