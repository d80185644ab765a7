"""The SMTP sink in-process: what a client sends is stored whole, findable by condition."""

from __future__ import annotations

import asyncio
import smtplib
from email.message import EmailMessage
from pathlib import Path

import pytest
from incident_devstack.processes import StackError
from incident_devstack.smtp_sink import SmtpSink


def _send(sink: SmtpSink, subject: str, *, bcc: str | None = None) -> None:
    message = EmailMessage()
    message["From"] = "notifier@example.test"
    message["To"] = "customer@example.test"
    message["Subject"] = subject
    message.set_content("Vaše hlášení bylo přijato.")
    recipients = ["customer@example.test", *([bcc] if bcc else [])]
    with smtplib.SMTP(sink.host, sink.port) as client:
        client.send_message(message, to_addrs=recipients)


def test_each_message_is_stored_as_one_eml_file_with_its_envelope(tmp_path: Path) -> None:
    with SmtpSink(tmp_path / "mail") as sink:
        _send(sink, "Incident INC-1 received", bcc="audit@example.test")
        _send(sink, "Incident INC-2 received")
        found = sink.wait_for_message(lambda m: "INC-1" in str(m["Subject"]), timeout=5)
        sink.wait_for_message(lambda m: "INC-2" in str(m["Subject"]), timeout=5)
    assert found["X-RcptTo"] == "customer@example.test, audit@example.test"
    assert found.get_content().strip() == "Vaše hlášení bylo přijato."
    assert [str(m["Subject"]) for m in sink.messages()] == [
        "Incident INC-1 received",
        "Incident INC-2 received",
    ]
    assert sorted(p.suffix for p in (tmp_path / "mail").iterdir()) == [".eml", ".eml"]


def test_waiting_for_mail_that_never_comes_names_what_did_come(tmp_path: Path) -> None:
    with SmtpSink(tmp_path / "mail") as sink:
        _send(sink, "Something else")
        with pytest.raises(StackError, match="Something else"):
            sink.wait_for_message(lambda m: "INC-9" in str(m["Subject"]), timeout=0.5)


async def test_async_wait_lets_the_loop_run_while_mail_arrives(tmp_path: Path) -> None:
    with SmtpSink(tmp_path / "mail") as sink:
        sending = asyncio.create_task(asyncio.to_thread(_send, sink, "Status update"))
        async with asyncio.timeout(5):
            message = await sink.wait_for_message_async(lambda m: "Status" in str(m["Subject"]))
        await sending
    assert message["To"] == "customer@example.test"
