"""Inbound e-mail on the real database and broker, sent with smtplib to the SMTP server intake
runs in its lifespan: a new message becomes an incident of the sender, a reply quoting its
reference the customer's public comment, the same message twice one incident, another
sender's reply and oversized mail refused with SMTP errors."""

import asyncio
import smtplib
import socket
from email import policy
from email.message import EmailMessage
from typing import Any

import pytest
from harness import eventually
from incident_events.incidents import IncidentReported
from integration.intake.alertmanager_process import free_port
from integration.intake.support import AUTH, RunningIntake

pytestmark = pytest.mark.integration
LIMIT = 16 * 1024
JANA = '"Jana Nováková" <jana@example.cz>'
SMTP_POLICY = policy.SMTP  # CRLF line ends, as SMTP has them


@pytest.fixture
def smtp_port() -> int:
    return free_port()


@pytest.fixture
def intake_settings(smtp_port: int) -> dict[str, Any]:
    return {"smtp_port": smtp_port, "smtp_max_message_bytes": LIMIT}


def mail(
    subject: str, body: str = "Tiskárna netiskne.", sender: str = JANA, mid: str = "<1@x>"
) -> EmailMessage:
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = sender, "support@intake.test", subject
    message["Message-ID"] = mid
    message.set_content(body)
    return message


def deliver(port: int, message: EmailMessage) -> tuple[int, str]:
    """The server's reply to the message's DATA (no SIZE declared beforehand)."""
    with smtplib.SMTP("127.0.0.1", port, timeout=30) as smtp:
        smtp.ehlo()
        smtp.mail("bounces@example.cz")
        smtp.rcpt("support@intake.test")
        code, reply = smtp.data(message.as_bytes(policy=SMTP_POLICY))
        return code, reply.decode()


async def send(port: int, message: EmailMessage) -> tuple[int, str]:
    return await asyncio.to_thread(deliver, port, message)


async def listening(port: int) -> None:
    def accepts() -> bool:
        with socket.socket() as probe:
            return probe.connect_ex(("127.0.0.1", port)) == 0

    await eventually(accepts)


async def incidents_of(intake: RunningIntake, customer: str) -> list[dict[str, Any]]:
    response = await intake.client.get(f"/v1/incidents?customer={customer}", headers=AUTH)
    items: list[dict[str, Any]] = response.json()["items"]
    return items


async def test_a_message_then_a_reply(intake: RunningIntake, smtp_port: int) -> None:
    await listening(smtp_port)
    first = mail("Printer offline <b>again</b>")
    first.add_attachment(b"x" * 1500, maintype="application", subtype="pdf", filename="scan.pdf")
    code, reply = await send(smtp_port, first)
    assert code == 250 and reply.startswith("2.0.0 Reported as INC-"), reply
    reference = reply.rsplit(" ", 1)[1]
    [incident] = await incidents_of(intake, "email:jana@example.cz")
    assert (incident["reference"], incident["channel"]) == (reference, "email")
    assert incident["title"] == "Printer offline <b>again</b>"
    assert incident["customer"]["name"] == "Jana Nováková"
    assert incident["description"].startswith("Tiskárna netiskne.")
    assert "- scan.pdf (application/pdf, 1500 bytes)" in incident["description"]
    event = await intake.reader.wait_for(lambda e: e.subject == incident["incident_id"])
    assert isinstance(event.data, IncidentReported) and event.data.channel == "email"
    assert await intake.metric("incidents_reported_total", channel="email") == 1

    assert await send(smtp_port, first) == (250, f"2.0.0 Reported as {reference}")  # redelivered
    assert len(await incidents_of(intake, "email:jana@example.cz")) == 1

    answer = mail(f"Re: [{reference}] Printer offline", mid="<2@x>")
    answer.clear_content()
    answer.set_content("<p>It works <i>now</i>.</p><script>x()</script>", subtype="html")
    assert await send(smtp_port, answer) == (250, f"2.0.0 Added to {reference}")
    assert await send(smtp_port, answer) == (250, f"2.0.0 Already added to {reference}")
    timeline = (await intake.read(incident["incident_id"]))["timeline"]
    comments = [entry for entry in timeline if entry["type"] == "comment"]
    assert [(c["author_kind"], c["body"]) for c in comments] == [("customer", "It works now.")]

    stranger = mail(f"Re: {reference}", sender="mallory@example.org", mid="<3@x>")
    code, reply = await send(smtp_port, stranger)
    assert code == 550 and reply.startswith(f"5.7.1 {reference} is not an incident of")


async def test_a_reply_to_a_closed_incident_opens_a_new_one(
    intake: RunningIntake, smtp_port: int
) -> None:
    await listening(smtp_port)
    _, reply = await send(smtp_port, mail("Login fails"))
    reference = reply.rsplit(" ", 1)[1]
    [incident] = await incidents_of(intake, "email:jana@example.cz")
    await intake.move(incident["incident_id"], "resolved", resolution_summary="Password reset.")
    assert (await intake.move(incident["incident_id"], "closed")).status_code == 200

    code, reply = await send(smtp_port, mail(f"Re: [{reference}] Login fails", mid="<9@x>"))
    assert code == 250 and reply.startswith("2.0.0 Reported as ") and reference not in reply
    found = await incidents_of(intake, "email:jana@example.cz")
    [newer] = [i for i in found if i["reference"] == reply.rsplit(" ", 1)[1]]
    assert newer["description"].startswith(f"(Follows up {reference}, which is closed.)")


async def test_oversized_and_senderless_mail_is_refused(
    intake: RunningIntake, smtp_port: int
) -> None:
    await listening(smtp_port)
    huge = mail("Big", body="x" * (LIMIT + 1000))
    code, reply = await send(smtp_port, huge)
    assert code == 552, reply
    with pytest.raises(smtplib.SMTPSenderRefused) as refused:  # SIZE declared: refused at once
        await asyncio.to_thread(_send_message, smtp_port, huge)
    assert refused.value.smtp_code == 552

    code, reply = await send(smtp_port, mail("Hi", sender="nobody"))
    assert code == 550 and reply.startswith("5.1.7 No usable sender address")
    assert await intake.scalar("SELECT count(*) FROM intake.incidents") == 0


def _send_message(port: int, message: EmailMessage) -> None:
    with smtplib.SMTP("127.0.0.1", port, timeout=30) as smtp:
        smtp.send_message(message)
