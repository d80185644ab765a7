"""Intake's inbound SMTP server: aiosmtpd's protocol served in the app's own event loop, as one
of the runtime's background loops, so it starts and stops with the app and /healthz fails if
it dies (e.g. its port is taken). Each message gets the mailbox's reply; a message over the
size limit is refused by aiosmtpd with 552, at MAIL FROM when the client declares its SIZE.

It has no authentication of its own: like any mail exchanger's back end, it is meant to sit
behind the organisation's MTA, which checks senders (SPF, DKIM, DMARC) before handing over.
"""

import asyncio
import logging
import weakref
from collections.abc import Callable, Coroutine
from typing import Any

from aiosmtpd.smtp import SMTP, Envelope, Session

from intake.channels.mailbox import Mailbox

log = logging.getLogger(__name__)
HOSTNAME = "intake"
TRY_LATER = "451 4.3.0 Temporarily unable to take the message; try again later"


class MailboxHandler:
    """aiosmtpd's handler: every message to the mailbox, any failure a temporary refusal, so
    the sending MTA keeps the message and retries it rather than it being lost."""

    def __init__(self, mailbox: Mailbox) -> None:
        self._mailbox = mailbox

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or b""
        try:
            return await self._mailbox.receive(raw, envelope_sender=envelope.mail_from or None)
        except Exception:
            log.exception("inbound mail from %s not taken", envelope.mail_from)
            return TRY_LATER


def inbound_mail_loop(
    mailbox: Mailbox, *, host: str, port: int, max_bytes: int, reuse_port: bool
) -> Callable[[], Coroutine[Any, Any, None]]:
    """The background loop serving SMTP on host:port until cancelled; `reuse_port` lets each
    worker process of one service bind the same port."""
    handler = MailboxHandler(mailbox)

    async def serve_inbound_mail() -> None:
        # aiosmtpd logs every command with the addresses in it at INFO: too much, and personal.
        logging.getLogger("mail.log").setLevel(logging.WARNING)
        loop = asyncio.get_running_loop()
        sessions: weakref.WeakSet[SMTP] = weakref.WeakSet()

        def new_session() -> SMTP:
            session = SMTP(
                handler,
                data_size_limit=max_bytes,
                hostname=HOSTNAME,
                ident="intake",
                enable_SMTPUTF8=True,
                loop=loop,
            )
            sessions.add(session)
            return session

        try:
            server = await loop.create_server(
                new_session, host, port, reuse_port=reuse_port or None
            )
        except OSError as error:  # e.g. the port is taken: /healthz reports the loop dead
            log.error("inbound mail (SMTP) cannot listen on %s:%s: %s", host, port, error)
            raise
        bound = ", ".join(str(s.getsockname()[:2]) for s in server.sockets)
        log.info("inbound mail (SMTP) on %s, messages up to %d bytes", bound, max_bytes)
        try:
            await server.serve_forever()
        finally:
            server.close()
            for session in list(sessions):
                if session.transport is not None:
                    session.transport.close()

    return serve_inbound_mail
