"""E-mail: building the MIME message of a delivery, and sending it over SMTP behind a small
`EmailSender` protocol (unit tests of a handler may pass a fake; everything else uses SMTP)."""

from email.message import EmailMessage
from email.utils import format_datetime, parseaddr
from typing import Protocol

import aiosmtplib

from notifier.config import NotifierSettings
from notifier.domain import Delivery


class EmailSender(Protocol):
    async def send(self, message: EmailMessage) -> None: ...


def build_email(delivery: Delivery, *, sender: str) -> EmailMessage:
    """The same delivery always gives the same message, so a resend is recognisable."""
    _, at, domain = parseaddr(sender)[1].rpartition("@")
    domain = domain if at and domain else "notifier.invalid"
    message = EmailMessage()
    message["From"] = sender
    message["To"] = delivery.recipient
    message["Subject"] = delivery.subject
    message["Date"] = format_datetime(delivery.created_at)
    # Derived from the notification id: receivers drop a duplicate Message-ID.
    message["Message-ID"] = f"<{delivery.notification_id}@{domain}>"
    message["X-Notification-Id"] = delivery.notification_id
    message["X-Incident-Id"] = delivery.incident_id
    message["Auto-Submitted"] = "auto-generated"  # no out-of-office replies to us
    message.set_content(delivery.body)
    message["Content-Language"] = delivery.language  # after set_content, which resets Content-*
    return message


class SmtpEmailSender:
    """Sends through the configured SMTP server; STARTTLS is used when the server offers it."""

    def __init__(self, settings: NotifierSettings) -> None:
        self._settings = settings

    async def send(self, message: EmailMessage) -> None:
        settings = self._settings
        await aiosmtplib.send(
            message,
            hostname=settings.smtp_host,
            port=settings.smtp_port,
            username=settings.smtp_username,
            password=settings.smtp_password,
            timeout=settings.smtp_timeout_seconds,
        )
