"""The customer's status page, as a customer's browser shows it: their language, their
incident, and HTML they typed shown as text rather than run."""

import asyncio
from datetime import UTC, datetime
from pathlib import Path
from uuid import uuid4

import pytest
from harness import eventually, migrate, publish_event, serving
from incident_devstack.pytest_plugin import Infra
from incident_events import new_event
from incident_events.incidents import CustomerRef, IncidentReported
from incident_kit.clock import FrozenClock
from notifier.app import create_app
from notifier.config import NotifierSettings
from playwright.async_api import Browser
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

pytestmark = pytest.mark.browser
T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
HOSTILE_TITLE = '<img src=x onerror="window.pwned=1"> Tiskárna netiskne'


async def test_status_page_shows_the_incident_in_czech_with_html_as_text(
    browser: Browser,
    infra: Infra,
    fresh_database_url: str,
    kafka_topic_prefix: str,
    tmp_path: Path,
) -> None:
    await asyncio.to_thread(migrate, fresh_database_url, "notifier")  # alembic runs its own loop
    prefix = kafka_topic_prefix
    settings = NotifierSettings(
        kafka_bootstrap_servers=infra.kafka_bootstrap_servers,
        database_url=fresh_database_url,
        kafka_topic_prefix=prefix,
    )
    incident_id = str(uuid4())
    reported = new_event(
        IncidentReported(
            incident_id=incident_id,
            reference="INC-004242",
            title=HOSTILE_TITLE,
            severity="high",
            channel="web",
            reported_at=T0,
            language="cs",
            customer=CustomerRef(customer_id="c-jana", email="jana@example.cz", language="cs"),
        ),
        source="/intake",
        now=T0,
    )

    async with serving(create_app(settings, FrozenClock(T0))) as url:
        await publish_event(infra.kafka_bootstrap_servers, reported, prefix=prefix)
        token = await eventually(lambda: status_token(fresh_database_url, incident_id))
        page = await browser.new_page()
        response = await page.goto(f"{url}/status/{token}")
        assert response is not None and response.status == 200
        await page.screenshot(path=str(tmp_path / "status.png"), full_page=True)

        assert await page.get_attribute("html", "lang") == "cs"
        body = await page.inner_text("body")
        assert "INC-004242" in body
        assert HOSTILE_TITLE in body  # shown literally, as the customer typed it
        assert await page.locator("img").count() == 0
        assert await page.evaluate("window.pwned") is None

        missing = await page.goto(f"{url}/status/not-a-token")
        assert missing is not None and missing.status == 404


async def status_token(database_url: str, incident_id: str) -> str | None:
    engine = create_async_engine(database_url)
    try:
        async with engine.connect() as connection:
            token = await connection.scalar(
                text("SELECT status_token FROM notifier.incidents WHERE incident_id = :id"),
                {"id": incident_id},
            )
            return str(token) if token else None
    finally:
        await engine.dispose()
