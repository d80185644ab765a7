"""The customer status page behind the link in the acknowledgement: localized, escaped, live."""

import re
from typing import Any
from uuid import uuid4

import harness
import pytest
from incident_events import Event, new_event
from incident_events.incidents import IncidentStatusChanged
from incident_events.types import IncidentStatus
from integration.notifier.support import (
    DELIVERED,
    PUBLIC_URL,
    T0,
    NotifierUnderTest,
    clock_started,
    reported,
)

pytestmark = pytest.mark.integration
HOSTILE_TITLE = "<script>alert('x')</script> & <b>bold</b>"
ESCAPED_TITLE = "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &lt;b&gt;bold&lt;/b&gt;"


async def acknowledged_status_path(notifier: NotifierUnderTest, report: Event[Any]) -> str:
    """The status page path from the link in the incident's acknowledgement e-mail."""
    incident_id = report.subject
    await notifier.publish(report)
    await notifier.publish(clock_started(incident_id))
    await notifier.fact(incident_id, DELIVERED, "acknowledgement")
    [mail] = notifier.mails_of(incident_id)
    link = re.search(rf"{re.escape(PUBLIC_URL)}(/status/\S+)", mail.get_content())
    assert link, mail.get_content()
    return link.group(1)


async def test_status_page_from_the_mail_link_shows_the_title_as_text(
    notifier: NotifierUnderTest,
) -> None:
    report = reported(f"inc-{uuid4()}", language="pl", title=HOSTILE_TITLE)

    page = await notifier.client.get(await acknowledged_status_path(notifier, report))

    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert page.headers["cache-control"] == "no-store"
    assert "Status Twojego zgłoszenia" in page.text
    assert report.data.reference in page.text
    assert ESCAPED_TITLE in page.text
    assert "<script>" not in page.text and "<b>" not in page.text
    assert "Przyjęte" in page.text
    assert "4 marca 2025 r., godz. 14:30 UTC" in page.text


async def test_status_page_follows_status_changes(notifier: NotifierUnderTest) -> None:
    incident_id = f"inc-{uuid4()}"
    path = await acknowledged_status_path(notifier, reported(incident_id, language="cs"))
    changed = IncidentStatusChanged(
        incident_id=incident_id,
        from_status=IncidentStatus.NEW,
        to_status=IncidentStatus.IN_PROGRESS,
        changed_at=T0,
    )

    await notifier.publish(new_event(changed, source="/intake", now=T0))

    async def shows_progress() -> bool:
        return "Řeší se" in (await notifier.client.get(path)).text

    await harness.eventually(shows_progress)


async def test_unknown_status_link_is_a_404_problem(notifier: NotifierUnderTest) -> None:
    response = await notifier.client.get("/status/no-such-token")

    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["title"] == "Status page not found"
