"""The customer web form in a real browser: Czech by the browser's language, fields found by
their labels, a mistake explained beside its field, then the reference once it is sent; what the
customer typed shown as text, never run."""

import asyncio
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from harness import migrate, serving
from incident_devstack.pytest_plugin import Infra
from incident_kit.clock import FrozenClock
from intake.app import create_app
from intake.config import IntakeSettings
from playwright.async_api import Browser, expect
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

pytestmark = pytest.mark.browser
T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
HOSTILE_TITLE = '<img src=x onerror="window.pwned=1"> Tiskárna netiskne'


async def test_a_customer_reports_through_the_form_in_czech(
    browser: Browser, infra: Infra, fresh_database_url: str, kafka_topic_prefix: str, tmp_path: Path
) -> None:
    await asyncio.to_thread(migrate, fresh_database_url, "intake")  # alembic runs its own loop
    settings = IntakeSettings(
        kafka_bootstrap_servers=infra.kafka_bootstrap_servers,
        database_url=fresh_database_url,
        kafka_topic_prefix=kafka_topic_prefix,
        form_secret="browser-test-secret",
    )
    async with serving(create_app(settings, FrozenClock(T0))) as url:
        context = await browser.new_context(locale="cs-CZ")
        page = await context.new_page()
        response = await page.goto(f"{url}/report")
        assert response is not None and response.status == 200
        assert await page.get_attribute("html", "lang") == "cs"

        await page.get_by_label("Vaše jméno").fill("Jana Nováková")
        await page.get_by_label("E-mailová adresa").fill("jana@")
        await page.get_by_label("Čeho se to týká?").select_option("complaint")
        await page.get_by_label("Jak moc vás to omezuje?").select_option(
            label="Nemohu vůbec pracovat"
        )
        await page.get_by_label("Předmět").fill(HOSTILE_TITLE)
        await page.get_by_role("button", name="Odeslat").click()

        email = page.get_by_label("E-mailová adresa")
        await expect(email).to_have_attribute("aria-invalid", "true")
        await expect(email).to_have_accessible_description(re.compile("Zadejte prosím platnou"))
        await expect(page.get_by_role("alert")).to_contain_text("Opravte prosím následující")
        await expect(page.get_by_label("Předmět")).to_have_value(HOSTILE_TITLE)
        await page.screenshot(path=str(tmp_path / "report-errors.png"), full_page=True)

        await email.fill("jana@example.cz")
        await page.get_by_label("Co se stalo?").fill("Od rána netiskne.\n<b>Nic</b> nepomáhá.")
        await page.get_by_role("button", name="Odeslat").click()

        reference = page.locator("#reference")
        await expect(reference).to_have_text(re.compile(r"^INC-\d{6}$"))
        await expect(page.get_by_role("heading", level=1)).to_have_text(
            "Děkujeme, vaše hlášení jsme přijali"
        )
        await page.screenshot(path=str(tmp_path / "report-sent.png"), full_page=True)
        assert await page.evaluate("window.pwned") is None
        stored = await stored_incident(fresh_database_url, await reference.inner_text())
        assert stored == ("web", "complaint", "critical", "cs", HOSTILE_TITLE)
        await context.close()


async def stored_incident(database_url: str, reference: str) -> tuple[str, ...] | None:
    engine = create_async_engine(database_url)
    try:
        async with engine.connect() as connection:
            row = await connection.execute(
                text(
                    "SELECT channel, kind, severity, language, title FROM intake.incidents"
                    " WHERE reference = :reference"
                ),
                {"reference": reference},
            )
            found = row.first()
            return tuple(found) if found else None
    finally:
        await engine.dispose()
