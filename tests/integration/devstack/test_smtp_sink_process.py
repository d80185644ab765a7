"""The local stack's SMTP sink as the process `make run` starts: a real SMTP client's message
lands as an .eml file with its envelope, and SIGTERM ends the process cleanly."""

import asyncio
import signal
import sys
from email.message import EmailMessage
from pathlib import Path

import aiosmtplib
from incident_devstack.processes import free_port
from incident_devstack.smtp_sink import wait_for_message_async


async def test_the_sink_process_stores_each_message_with_its_envelope(tmp_path: Path) -> None:
    port, mail = free_port(), tmp_path / "mail"
    sink = await asyncio.create_subprocess_exec(
        *(sys.executable, "-m", "incident_devstack.smtp_sink", "--port", str(port)),
        *("--dir", str(mail)),
        stdout=asyncio.subprocess.PIPE,
    )
    try:
        assert sink.stdout is not None
        # It says where it listens once it does.
        async with asyncio.timeout(30):
            assert f"on 127.0.0.1:{port}".encode() in await sink.stdout.readline()
        message = EmailMessage()
        message["From"] = "notifier@example.com"
        message["To"] = "customer@example.com"
        message["Subject"] = "Ihre Meldung INC-000042 <b>ist da</b>"
        message.set_content("Grüße")
        await aiosmtplib.send(
            message,
            hostname="127.0.0.1",
            port=port,
            recipients=["customer@example.com", "bcc@example.com"],
        )

        async with asyncio.timeout(10):
            stored = await wait_for_message_async(mail)
        assert stored["Subject"] == "Ihre Meldung INC-000042 <b>ist da</b>"
        assert stored["X-RcptTo"] == "customer@example.com, bcc@example.com"
        assert stored.get_content().strip() == "Grüße"
    finally:
        sink.send_signal(signal.SIGTERM)
        async with asyncio.timeout(10):
            assert await sink.wait() == 0
