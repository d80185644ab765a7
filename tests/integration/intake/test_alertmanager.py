"""POST /v1/integrations/alertmanager: a real Prometheus Alertmanager posting to intake served
on a loopback port opens an incident with the mapped severity, and resolves it when the alert
resolves; and the webhook's answers to payloads posted directly (Bearer key, keyed alerts,
severity updates, malformed payloads naming the field)."""

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from harness import eventually, migrate, serving
from incident_devstack.pytest_plugin import Infra
from incident_kit.clock import FrozenClock
from intake.app import create_app
from intake.config import IntakeSettings
from integration.intake.alertmanager_process import alertmanager
from integration.intake.support import API_KEY, AUTH, T0, RunningIntake
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

pytestmark = pytest.mark.integration
URL = "/v1/integrations/alertmanager"


async def test_a_real_alertmanager_opens_and_resolves_an_incident(
    infra: Infra, fresh_database_url: str, kafka_topic_prefix: str, tmp_path: Path
) -> None:
    await asyncio.to_thread(migrate, fresh_database_url, "intake")
    settings = IntakeSettings(
        kafka_bootstrap_servers=infra.kafka_bootstrap_servers,
        database_url=fresh_database_url,
        api_keys=API_KEY,
        kafka_topic_prefix=kafka_topic_prefix,
        alertmanager_severity_map="critical=critical,warning=medium,info=low",
    )
    engine = create_async_engine(fresh_database_url)

    async def incident() -> dict[str, Any] | None:
        async with engine.connect() as connection:
            row = await connection.execute(
                text(
                    "SELECT severity, status, resolution, customer_id, title, dedup_key"
                    " FROM intake.incidents WHERE channel = 'alertmanager'"
                )
            )
            found = row.mappings().first()
            return dict(found) if found else None

    labels = {"alertname": "CheckoutErrors", "severity": "warning", "service": "shop"}
    annotations = {"summary": "Checkout errors above 5%"}
    now = datetime.now(UTC)
    try:
        async with (
            serving(create_app(settings, FrozenClock(T0))) as url,
            alertmanager(f"{url}{URL}", API_KEY, tmp_path) as manager,
        ):
            await manager.post_alert(
                labels, annotations, now - timedelta(minutes=1), now + timedelta(hours=1)
            )
            opened = await eventually(incident, timeout=60)
            assert (opened["severity"], opened["status"]) == ("medium", "new")
            assert opened["title"] == "Checkout errors above 5%"
            assert opened["customer_id"] == "alertmanager:intake"
            assert opened["dedup_key"].startswith("alertmanager:")

            await manager.post_alert(
                labels, annotations, now - timedelta(minutes=1), now - timedelta(seconds=1)
            )

            async def resolved() -> dict[str, Any] | None:
                found = await incident()
                return found if found and found["status"] == "resolved" else None

            closed = await eventually(resolved, timeout=60)
            assert closed["resolution"].startswith("The alert CheckoutErrors resolved at ")
    finally:
        await engine.dispose()


def notification(*alerts: dict[str, Any], status: str = "firing") -> dict[str, Any]:
    return {
        "version": "4",
        "groupKey": '{}:{alertname="DiskFull"}',
        "status": status,
        "receiver": "ops",
        "groupLabels": {"alertname": "DiskFull"},
        "commonLabels": {},
        "commonAnnotations": {},
        "externalURL": "http://alertmanager.test",
        "alerts": list(alerts),
    }


def alert(fingerprint: str, severity: str = "critical", status: str = "firing") -> dict[str, Any]:
    return {
        "status": status,
        "labels": {"alertname": "DiskFull", "severity": severity, "instance": fingerprint},
        "annotations": {"summary": f"Disk full on {fingerprint}"},
        "startsAt": "2026-11-23T08:59:00Z",
        "endsAt": "2026-11-23T09:10:00Z" if status == "resolved" else "0001-01-01T00:00:00Z",
        "fingerprint": fingerprint,
    }


async def post(intake: RunningIntake, document: dict[str, Any]) -> list[dict[str, Any]]:
    response = await intake.client.post(URL, json=document, headers=AUTH)
    assert response.status_code == 200, response.text
    outcomes: list[dict[str, Any]] = response.json()["alerts"]
    return outcomes


async def test_each_alert_is_its_own_keyed_incident(intake: RunningIntake) -> None:
    first = await post(intake, notification(alert("aa01"), alert("aa02", "warning")))
    assert [o["outcome"] for o in first] == ["opened", "opened"]
    severities = "SELECT string_agg(severity, ',' ORDER BY severity) FROM intake.incidents"
    assert await intake.scalar(severities) == "critical,medium"

    again = await post(intake, notification(alert("aa01"), alert("aa02", "critical")))
    assert [o["outcome"] for o in again] == ["unchanged", "updated"]
    assert again[0]["incident_id"] == first[0]["incident_id"]
    assert (await intake.read(first[1]["incident_id"]))["severity"] == "critical"

    done = await post(intake, notification(alert("aa01", status="resolved"), status="resolved"))
    assert done[0]["outcome"] == "resolved"
    resolved = await intake.read(first[0]["incident_id"])
    assert resolved["status"] == "resolved"
    assert resolved["resolution"].startswith("The alert DiskFull resolved at 2026-11-23T09:10")
    late = await post(intake, notification(alert("aa01", status="resolved"), status="resolved"))
    assert late[0]["outcome"] == "not_open"
    for severity in ("critical", "medium"):
        reported = await intake.metric(
            "incidents_reported_total", channel="alertmanager", severity=severity
        )
        assert reported == 1


async def test_the_webhook_needs_the_api_key(intake: RunningIntake) -> None:
    response = await intake.client.post(URL, json=notification(alert("aa01")))
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize(
    ("document", "field"),
    [
        ({**notification(alert("aa01")), "version": "3"}, "body.version"),
        (notification(), "body.alerts"),
        (notification({**alert("aa01"), "startsAt": "soon"}), "body.alerts.0.startsAt"),
        (notification({**alert("aa01"), "status": "pending"}), "body.alerts.0.status"),
        ({"receiver": "ops"}, "body.version"),
    ],
)
async def test_malformed_payloads_name_the_field(
    intake: RunningIntake, document: dict[str, Any], field: str
) -> None:
    response = await intake.client.post(URL, json=document, headers=AUTH)
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert field in [e["field"] for e in response.json()["errors"]]
