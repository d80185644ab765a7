"""Acknowledgements and apologies end to end: facts from Kafka in, real e-mail over SMTP out,
`notification.delivered` back on Kafka; in either order of the two facts, and exactly once."""

from uuid import uuid4

import harness
import pytest
from incident_events.notifications import NotificationDelivered
from integration.notifier.support import (
    DELIVERED,
    NotifierUnderTest,
    breached,
    clock_started,
    reported,
)

pytestmark = pytest.mark.integration
SENT_ACKS = 'notifications_sent_total{channel="email",template="acknowledgement"}'
HANDLED = 'events_handled_total{event_type="%s",outcome="handled"}'


async def handled(notifier: NotifierUnderTest, event_type: str) -> None:
    """Wait until the notifier has applied one event of the type. The two facts come on two
    topics, each with a consumer of its own, so only waiting fixes which is applied second."""

    async def applied() -> bool:
        return await notifier.metric(HANDLED % event_type) == 1.0

    await harness.eventually(applied)


async def test_report_then_clock_sends_one_czech_acknowledgement(
    notifier: NotifierUnderTest,
) -> None:
    incident_id = f"inc-{uuid4()}"
    report, clock = reported(incident_id, language="cs"), clock_started(incident_id)
    await notifier.publish(report)
    await handled(notifier, report.type)
    await notifier.publish(clock)

    delivered = await notifier.fact(incident_id, DELIVERED, "acknowledgement")

    [mail] = notifier.mails_of(incident_id)
    reference = report.data.reference
    assert mail["Subject"] == f"[{reference}] Vaše hlášení jsme přijali: Platba kartou neprošla"
    assert mail["To"] == "jana@example.com"
    assert isinstance(delivered.data, NotificationDelivered)
    assert mail["Message-ID"] == f"<{delivered.data.notification_id}@example.com>"
    body = mail.get_content()
    assert body.startswith("Dobrý den, Jana Nováková,")
    assert f"Číslo požadavku: {reference}" in body
    assert "Sjednaná doba první reakce: 4 hodiny" in body
    assert "Ozveme se vám nejpozději do 4. března 2025 v 14:30 UTC." in body
    assert delivered.data.model_dump(include={"language", "recipient", "cause_event_id"}) == {
        "language": "cs",
        "recipient": "jana@example.com",
        "cause_event_id": str(clock.id),  # the second of the two facts sent it
    }
    assert delivered.causationid == str(clock.id) and delivered.source == "/notifier"
    assert await notifier.metric(SENT_ACKS) == 1.0


async def test_the_acknowledgement_is_in_the_customers_time_zone(
    notifier: NotifierUnderTest,
) -> None:
    incident_id = f"inc-{uuid4()}"
    report = reported(incident_id, language="en", time_zone="America/New_York")
    await notifier.publish(report)
    await notifier.publish(clock_started(incident_id))

    await notifier.fact(incident_id, DELIVERED, "acknowledgement")
    [mail] = notifier.mails_of(incident_id)
    due = "4 March 2025, 09:30 America/New_York"
    assert f"You will hear from us by {due} at the latest." in mail.get_content()


async def test_clock_then_report_acknowledges_too(notifier: NotifierUnderTest) -> None:
    incident_id = f"inc-{uuid4()}"
    report, clock = reported(incident_id, language="en"), clock_started(incident_id)
    await notifier.publish(clock)
    await handled(notifier, clock.type)
    await notifier.publish(report)

    await notifier.fact(incident_id, DELIVERED, "acknowledgement")

    [mail] = notifier.mails_of(incident_id)
    assert report.data.reference in mail["Subject"]
    assert "You will hear from us by 4 March 2025, 14:30 UTC at the latest." in mail.get_content()


async def test_redelivered_clock_event_sends_no_second_email(notifier: NotifierUnderTest) -> None:
    incident_id = f"inc-{uuid4()}"
    clock = clock_started(incident_id)
    await notifier.publish(reported(incident_id))
    await notifier.publish(clock)
    await notifier.fact(incident_id, DELIVERED, "acknowledgement")

    await notifier.publish(clock)
    # Same key, same partition: once the breach behind it is handled, so is the redelivery.
    await notifier.publish(breached(incident_id))
    await notifier.fact(incident_id, DELIVERED, "breach_apology")

    subjects = [str(mail["Subject"]) for mail in notifier.mails_of(incident_id)]
    assert len(subjects) == 2, subjects
    assert sum("Vaše hlášení jsme přijali" in subject for subject in subjects) == 1
    assert await notifier.metric(SENT_ACKS) == 1.0


async def test_a_missed_first_response_brings_an_apology(notifier: NotifierUnderTest) -> None:
    incident_id = f"inc-{uuid4()}"
    report = reported(incident_id, language="ru")
    await notifier.publish(report)
    await notifier.publish(clock_started(incident_id))
    await notifier.fact(incident_id, DELIVERED, "acknowledgement")

    breach = breached(incident_id)
    await notifier.publish(breach)
    apology = await notifier.fact(incident_id, DELIVERED, "breach_apology")

    [mail] = [m for m in notifier.mails_of(incident_id) if "Приносим извинения" in m["Subject"]]
    body = mail.get_content()
    assert report.data.reference in mail["Subject"]
    assert "не позднее 4 марта 2025 г., 14:30 UTC, но не успели" in body
    assert "Что дальше:" in body
    assert apology.causationid == str(breach.id)
