"""The SMTP sink: accepts every message and stores it as an `.eml` file in one directory.

Runs as a process (`python -m incident_devstack.smtp_sink --port N --dir D`) for
the local stack, or in-process via `SmtpSink` in tests. Readers only look at the
directory, so a test can wait for mail whichever process received it.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import time
import uuid
from collections.abc import Callable, Sequence
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path
from types import TracebackType

import uvloop
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from incident_devstack.processes import StackError, free_port

MessagePredicate = Callable[[EmailMessage], bool]
POLL_INTERVAL_S = 0.05


def store_message(directory: Path, raw: bytes) -> Path:
    """Write `raw` as a new `.eml` file; the rename makes it appear complete or not at all."""
    directory.mkdir(parents=True, exist_ok=True)
    # Nanosecond time first, so names sort in arrival order; the uuid keeps them unique.
    name = f"{time.time_ns()}-{uuid.uuid4().hex}.eml"
    partial = directory / f".{name}.tmp"
    partial.write_bytes(raw)
    os.replace(partial, directory / name)
    return directory / name


class MailDirHandler:
    """aiosmtpd handler storing each message with its envelope as X-MailFrom / X-RcptTo headers."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        # Envelope recipients are kept because Bcc never shows in the headers.
        envelope_headers = f"X-MailFrom: {envelope.mail_from}\r\n"
        envelope_headers += f"X-RcptTo: {', '.join(envelope.rcpt_tos)}\r\n"
        raw = envelope_headers.encode() + (envelope.original_content or b"")
        # Written in the loop, not in a worker thread: a few kilobytes into the page cache take
        # less than the hop to a thread and back, which was most of the sink's CPU per message.
        store_message(self.directory, raw)
        return "250 Message accepted for delivery"


def read_messages(directory: Path) -> list[EmailMessage]:
    """Every stored message, oldest first."""
    parser = BytesParser(policy=policy.default)
    messages: list[EmailMessage] = []
    for path in sorted(directory.glob("*.eml")):
        message = parser.parsebytes(path.read_bytes())
        assert isinstance(message, EmailMessage)  # guaranteed by policy.default
        messages.append(message)
    return messages


def _first_match(directory: Path, predicate: MessagePredicate) -> EmailMessage | None:
    return next((m for m in read_messages(directory) if predicate(m)), None)


def _no_match_error(directory: Path, timeout: float) -> StackError:
    subjects = [str(m["Subject"]) for m in read_messages(directory)]
    return StackError(f"no matching mail in {directory} after {timeout}s; subjects: {subjects}")


def wait_for_message(
    directory: Path, predicate: MessagePredicate = lambda _: True, *, timeout: float = 10.0
) -> EmailMessage:
    """The first stored message matching `predicate`, polling until `timeout` seconds pass."""
    deadline = time.monotonic() + timeout
    while (found := _first_match(directory, predicate)) is None:
        if time.monotonic() >= deadline:
            raise _no_match_error(directory, timeout)
        time.sleep(POLL_INTERVAL_S)
    return found


async def wait_for_message_async(
    directory: Path, predicate: MessagePredicate = lambda _: True
) -> EmailMessage:
    """wait_for_message that lets the event loop run; bound it with `asyncio.timeout`."""
    # Polling, not an Event: the mail may come from a sink in another process.
    while True:
        if (found := _first_match(directory, predicate)) is not None:
            return found
        await asyncio.sleep(POLL_INTERVAL_S)


class SmtpSink:
    """An in-process sink on 127.0.0.1 (its own thread and loop), usable as a context manager."""

    def __init__(self, directory: Path, *, port: int | None = None) -> None:
        self.directory = directory
        self.host = "127.0.0.1"
        self.port = port if port is not None else free_port()
        self._controller: Controller | None = None

    def start(self) -> SmtpSink:
        self.directory.mkdir(parents=True, exist_ok=True)
        controller = Controller(
            MailDirHandler(self.directory), hostname=self.host, port=self.port, enable_SMTPUTF8=True
        )
        controller.start()
        self._controller = controller
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def __enter__(self) -> SmtpSink:
        return self.start()

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def messages(self) -> list[EmailMessage]:
        return read_messages(self.directory)

    def clear(self) -> None:
        for path in self.directory.glob("*.eml"):
            path.unlink(missing_ok=True)

    def wait_for_message(
        self, predicate: MessagePredicate = lambda _: True, *, timeout: float = 10.0
    ) -> EmailMessage:
        return wait_for_message(self.directory, predicate, timeout=timeout)

    async def wait_for_message_async(
        self, predicate: MessagePredicate = lambda _: True
    ) -> EmailMessage:
        return await wait_for_message_async(self.directory, predicate)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Store every SMTP message as an .eml file.")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--dir", type=Path, required=True, help="where .eml files go")
    args = parser.parse_args(argv)
    # On uvloop in the main thread, not aiosmtpd's threaded Controller: under load the sink is
    # a peer on the same cores as the stack it serves, so its cost per message counts.
    args.dir.mkdir(parents=True, exist_ok=True)
    uvloop.run(_serve(args.dir, args.port))


async def _serve(directory: Path, port: int) -> None:
    handler, host = MailDirHandler(directory), "127.0.0.1"
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: SMTP(handler, hostname=host, enable_SMTPUTF8=True), host=host, port=port
    )
    stopping = asyncio.Event()
    for stop_signal in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(stop_signal, stopping.set)
    print(f"SMTP sink on {host}:{port}, storing mail in {directory}", flush=True)
    async with server:
        await stopping.wait()


if __name__ == "__main__":
    main()
