"""The MIME message of a delivery, as a receiver reads it: stable, so that a resend carries the
same Message-ID, and no text of the delivery can add a header of its own."""

from dataclasses import replace
from datetime import UTC, datetime
from email.message import EmailMessage
from email.parser import BytesParser
from email.policy import default

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


def received(delivery: Delivery, *, sender: str) -> EmailMessage:
    """The message as it goes over the wire, parsed back as a mail client does."""
    wire = build_email(delivery, sender=sender).as_bytes()
    assert wire.isascii()  # 7-bit clean: any server takes it
    message = BytesParser(policy=default).parsebytes(wire)
    assert isinstance(message, EmailMessage)
    return message


def test_the_message_carries_the_delivery() -> None:
    message = received(DELIVERY, sender="Podpora <podpora@example.cz>")
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
    message = received(DELIVERY, sender="support")
    assert message["Message-ID"] == f"<{DELIVERY.notification_id}@notifier.invalid>"


def test_names_and_long_subjects_outside_ascii_read_as_written() -> None:
    long_subject = "[INC-000042] Vaše hlášení jsme přijali: " + "Platba kartou neprošla " * 6
    delivery = replace(DELIVERY, recipient="Jana Nováková <jana@example.com>", subject=long_subject)
    message = received(delivery, sender="Podpora Účtů <podpora@example.cz>")
    assert message["To"] == "Jana Nováková <jana@example.com>"
    assert message["From"] == "Podpora Účtů <podpora@example.cz>"
    assert message["Subject"] == long_subject


def test_a_line_break_in_a_subject_cannot_add_a_header() -> None:
    delivery = replace(DELIVERY, subject="Platba\r\nBcc: attacker@example.com\nX-Evil: 1")
    message = received(delivery, sender="support@example.com")
    assert message["Bcc"] is None and message["X-Evil"] is None
    assert message["Subject"] == "Platba Bcc: attacker@example.com X-Evil: 1"
