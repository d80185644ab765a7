"""The resolution message on the real broker and SMTP: the customer is told the summary in their
language each time the incident is resolved, and the status page follows it through a reopening."""

from uuid import uuid4

import harness
import pytest
from incident_events import new_event
from incident_events.incidents import IncidentResolved, IncidentStatusChanged
from incident_events.types import IncidentStatus
from integration.notifier.support import DELIVERED, T0, NotifierUnderTest, reported
from integration.notifier.test_notifier_status_page import acknowledged_status_path

pytestmark = pytest.mark.integration
SUMMARY = "Obnovili jsme certifikát <brány> & platby kartou opět fungují."


async def test_resolution_mail_carries_the_summary_each_time(notifier: NotifierUnderTest) -> None:
    incident_id = f"inc-{uuid4()}"
    path = await acknowledged_status_path(notifier, reported(incident_id, language="cs"))

    async def shows(status_text: str) -> None:
        async def on_page() -> bool:
            return status_text in (await notifier.client.get(path)).text

        await harness.eventually(on_page)

    for to_status, summary, shown in [
        (IncidentStatus.RESOLVED, SUMMARY, "Vyřešeno"),
        (IncidentStatus.REOPENED, None, "Znovu otevřeno"),
        (IncidentStatus.RESOLVED, "Opraveno natrvalo.", "Vyřešeno"),
    ]:
        changed = IncidentStatusChanged(
            incident_id=incident_id,
            from_status=IncidentStatus.IN_PROGRESS,
            to_status=to_status,
            changed_at=T0,
        )
        await notifier.publish(new_event(changed, source="/intake", now=T0))
        if summary is not None:
            resolved = IncidentResolved(incident_id=incident_id, resolved_at=T0, resolution=summary)
            await notifier.publish(new_event(resolved, source="/intake", now=T0))
        await shows(shown)

    async def both_resolutions_delivered() -> bool:
        return len([m for m in notifier.mails_of(incident_id) if "vyřešili" in m["Subject"]]) == 2

    await harness.eventually(both_resolutions_delivered)
    first, second = [m for m in notifier.mails_of(incident_id) if "vyřešili" in m["Subject"]]
    assert SUMMARY in first.get_content()  # plain text: as the agent wrote it
    assert "Opraveno natrvalo." in second.get_content()
    assert first["To"] == "jana@example.com"
    await notifier.fact(incident_id, DELIVERED, "resolution")
