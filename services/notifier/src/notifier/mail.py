"""E-mail: building the MIME message of a delivery, and sending it over SMTP behind a small
`EmailSender` protocol (unit tests of a handler may pass a fake; everything else uses SMTP)."""

import asyncio
import contextlib
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
    """Sends through the configured SMTP server over one kept-open connection (STARTTLS when the
    server offers it): connecting and greeting cost as much as sending a message."""

    def __init__(self, settings: NotifierSettings) -> None:
        self._settings = settings
        self._client: aiosmtplib.SMTP | None = None
        self._lock = asyncio.Lock()  # one SMTP conversation at a time on the connection

    async def send(self, message: EmailMessage) -> None:
        async with self._lock:
            reused = self._client is not None and self._client.is_connected
            try:
                await (await self._connected()).send_message(message)
            except aiosmtplib.SMTPServerDisconnected:
                await self._drop()
                if not reused:
                    raise
                # The server closed the idle connection; say it again on a fresh one.
                await (await self._connected()).send_message(message)
            except Exception:
                await self._drop()  # whatever state the conversation is in, start clean
                raise

    async def close(self) -> None:
        async with self._lock:
            client, self._client = self._client, None
            if client is not None and client.is_connected:
                with contextlib.suppress(aiosmtplib.SMTPException, OSError):
                    await client.quit()

    async def _connected(self) -> aiosmtplib.SMTP:
        if self._client is None or not self._client.is_connected:
            settings = self._settings
            client = aiosmtplib.SMTP(
                hostname=settings.smtp_host,
                port=settings.smtp_port,
                username=settings.smtp_username,
                password=settings.smtp_password,
                timeout=settings.smtp_timeout_seconds,
            )
            await client.connect()
            self._client = client
        return self._client

    async def _drop(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            client.close()
