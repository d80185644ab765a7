"""E-mail: building the MIME message of a delivery, and sending it over SMTP behind a small
`EmailSender` protocol (unit tests of a handler may pass a fake; everything else uses SMTP)."""

import asyncio
import contextlib
from email.charset import QP, SHORTEST, Charset
from email.header import Header
from email.message import Message
from email.utils import format_datetime, formataddr, parseaddr
from typing import Protocol

import aiosmtplib

from notifier.config import NotifierSettings
from notifier.domain import Delivery


class EmailSender(Protocol):
    async def send(self, message: Message) -> None: ...


def build_email(delivery: Delivery, *, sender: str) -> Message:
    """The same delivery always gives the same message, so a resend is recognisable.

    Built with the compat32 classes (Message, Header), not EmailMessage: its header registry
    parses every header it is given, which made building and flattening one message cost
    1.2 ms of CPU, about a sixth of all the notifier's work per incident; this costs 0.35 ms.
    Non-ASCII text goes in RFC 2047 encoded words and a quoted-printable body, so the message is
    7-bit clean for any server; a receiver reads it as it was written.
    """
    _, at, domain = parseaddr(sender)[1].rpartition("@")
    domain = domain if at and domain else "notifier.invalid"
    message = Message()
    message.set_payload(delivery.body, _UTF8)  # also sets MIME-Version and Content-*
    message["From"] = _address(sender)
    message["To"] = _address(delivery.recipient)
    message["Subject"] = _text(delivery.subject, "Subject")
    message["Date"] = format_datetime(delivery.created_at)
    # Derived from the notification id: receivers drop a duplicate Message-ID.
    message["Message-ID"] = f"<{delivery.notification_id}@{domain}>"
    message["X-Notification-Id"] = _one_line(delivery.notification_id)
    message["X-Incident-Id"] = _one_line(delivery.incident_id)
    message["Auto-Submitted"] = "auto-generated"  # no out-of-office replies to us
    message["Content-Language"] = _one_line(delivery.language)
    return message


_UTF8 = Charset("utf-8")
_UTF8.header_encoding = SHORTEST
_UTF8.body_encoding = QP


def _one_line(value: str) -> str:
    """No line break reaches a header: it would let a title write headers of its own."""
    return " ".join(value.splitlines())


def _text(value: str, name: str) -> str:
    """Free text, in RFC 2047 encoded words (folded for the header `name`) unless ASCII."""
    line = _one_line(value)
    return line if line.isascii() else Header(line, _UTF8, header_name=name).encode()


def _address(value: str) -> str:
    """`Name <address>` with the display name encoded when it is not ASCII."""
    name, address = parseaddr(_one_line(value))
    return formataddr((name, address), charset=_UTF8) if address else _one_line(value)


class SmtpEmailSender:
    """Sends through the configured SMTP server over one kept-open connection (STARTTLS when the
    server offers it): connecting and greeting cost as much as sending a message."""

    def __init__(self, settings: NotifierSettings) -> None:
        self._settings = settings
        self._client: aiosmtplib.SMTP | None = None
        self._lock = asyncio.Lock()  # one SMTP conversation at a time on the connection

    async def send(self, message: Message) -> None:
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
