"""The MIME message of a delivery: stable, so that a resend carries the same Message-ID."""

from datetime import UTC, datetime

from incident_events.types import DeliveryChannel
from notifier.domain import Delivery
from notifier.mail import build_email

DELIVERY = Delivery(
    notification_id="0b6f3f8e-1111-5222-8333-444455556666",
    incident_id="inc-1",
    cause_event_id="evt-1",
    channel=DeliveryChannel.EMAIL,
    template="acknowledgement",
    language="cs",
    recipient="jana@example.com",
    subject="[INC-000042] Vaše hlášení jsme přijali: Platba neprošla",
    body="Dobrý den,\n",
    status="pending",
    attempts=0,
    created_at=datetime(2025, 3, 4, 10, 30, tzinfo=UTC),
)


def test_the_message_carries_the_delivery() -> None:
    message = build_email(DELIVERY, sender="Podpora <podpora@example.cz>")
    assert message["From"] == "Podpora <podpora@example.cz>"
    assert message["To"] == "jana@example.com"
    assert message["Subject"] == DELIVERY.subject
    assert message["Message-ID"] == f"<{DELIVERY.notification_id}@example.cz>"
    assert message["Content-Language"] == "cs"
    assert message.get_content() == "Dobrý den,\n"


def test_a_resend_is_the_same_message() -> None:
    first = build_email(DELIVERY, sender="support@example.com")
    again = build_email(DELIVERY, sender="support@example.com")
    assert first.as_bytes() == again.as_bytes()


def test_a_sender_without_a_domain_still_gets_a_valid_message_id() -> None:
    message = build_email(DELIVERY, sender="support")
    assert message["Message-ID"] == f"<{DELIVERY.notification_id}@notifier.invalid>"
