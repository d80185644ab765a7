"""Inbound e-mail as intake reads it: the sender, the reference a reply quotes, plain and HTML
text (markup never kept), attachments listed, and the report or comment it becomes."""

from email.message import EmailMessage

import pytest
from incident_events.types import AuthorKind, Channel, Severity, Visibility
from intake.channels.inbound_mail import (
    UnusableSender,
    comment_of,
    idempotency_key,
    read_mail,
    report_of,
)
from intake.channels.mail_text import html_to_text


def message(
    subject: str = "Printer offline", sender: str = '"Jana N." <Jana@Example.cz>'
) -> EmailMessage:
    mail = EmailMessage()
    mail["From"] = sender
    mail["To"] = "support@intake.test"
    mail["Subject"] = subject
    mail["Message-ID"] = "<m1@example.cz>"
    mail.set_content("Tiskárna netiskne.\n<b>Since</b> Monday.")
    mail["Content-Language"] = "cs-CZ"  # after set_content, which clears Content-* headers
    return mail


def test_a_plain_message() -> None:
    mail = read_mail(message().as_bytes(), envelope_sender="bounce@example.cz")
    assert (mail.sender, mail.sender_name) == ("Jana@example.cz", "Jana N.")
    assert mail.customer_id == "email:jana@example.cz"
    assert (mail.subject, mail.language, mail.reference) == ("Printer offline", "cs", None)
    assert mail.text == "Tiskárna netiskne.\n<b>Since</b> Monday."  # kept as written
    report = report_of(mail, severity=Severity.MEDIUM)
    assert (report.title, report.channel, report.language) == (
        "Printer offline",
        Channel.EMAIL,
        "cs",
    )
    assert report.customer.email == "Jana@example.cz" and report.customer.name == "Jana N."
    assert report.description == mail.text


@pytest.mark.parametrize(
    ("subject", "reference"),
    [
        ("Re: [INC-000123] Printer offline", "INC-000123"),
        ("RE: Fwd: your request inc-004242 is resolved", "INC-004242"),
        ("AW: INC-1234567 follow-up", "INC-1234567"),
        ("Invoice INC-12", None),
        ("XINC-000123", None),
    ],
)
def test_the_reference_a_reply_quotes(subject: str, reference: str | None) -> None:
    assert read_mail(message(subject).as_bytes(), envelope_sender=None).reference == reference


def test_html_becomes_text_and_attachments_are_listed() -> None:
    mail = message()
    mail.clear_content()
    mail.set_content(
        "<p>Hello <b>team</b>,</p><script>steal()</script><p>it&#39;s down</p>", subtype="html"
    )
    mail.add_attachment(
        b"%PDF-1.4" + b"x" * 992, maintype="application", subtype="pdf", filename="invoice.pdf"
    )
    mail.add_attachment(b"\x89PNG", maintype="image", subtype="png", filename="screen.png")
    read = read_mail(mail.as_bytes(), envelope_sender=None)
    assert read.text == "Hello team,\n\nit's down"
    description = report_of(read, severity=Severity.LOW).description
    assert description.endswith(
        "Attachments (listed, not stored):\n"
        "- invoice.pdf (application/pdf, 1000 bytes)\n"
        "- screen.png (image/png, 4 bytes)"
    )


def test_plain_text_is_preferred_to_html() -> None:
    mail = message()
    mail.add_alternative("<p>the <i>HTML</i> version</p>", subtype="html")
    assert read_mail(mail.as_bytes(), envelope_sender=None).text.startswith("Tiskárna")


def test_the_envelope_sender_when_there_is_no_from() -> None:
    mail = message()
    del mail["From"]
    assert read_mail(mail.as_bytes(), envelope_sender="ann@example.org").sender == "ann@example.org"
    with pytest.raises(UnusableSender):
        read_mail(mail.as_bytes(), envelope_sender=None)
    with pytest.raises(UnusableSender):
        read_mail(message(sender="not an address").as_bytes(), envelope_sender=None)


def test_a_reply_is_the_customers_public_comment_with_a_stable_id() -> None:
    mail = read_mail(message("Re: [INC-000123] x").as_bytes(), envelope_sender=None)
    comment = comment_of(mail)
    assert (comment.author_kind, comment.visibility) == (AuthorKind.CUSTOMER, Visibility.PUBLIC)
    assert comment.body == mail.text and comment.comment_id == comment_of(mail).comment_id


def test_the_same_message_again_has_the_same_key() -> None:
    mail = read_mail(message().as_bytes(), envelope_sender=None)
    other = read_mail(message("Another subject").as_bytes(), envelope_sender=None)
    assert idempotency_key(mail, "d") == idempotency_key(mail, "d")
    assert idempotency_key(mail, "d") != idempotency_key(other, "d")


def test_nul_and_empty_parts_never_reach_the_report() -> None:
    mail = message(subject="")
    mail.clear_content()
    mail.set_content("\x00")
    read = read_mail(mail.as_bytes(), envelope_sender=None)
    report = report_of(read, severity=Severity.LOW)
    assert (report.title, report.description) == ("(no subject)", "(no text)")


@pytest.mark.parametrize(
    ("html", "text"),
    [
        ("<ul><li>one</li><li>two</li></ul>", "- one\n- two"),
        ("a<br>b<br/>c", "a\nb\nc"),
        ("<p>unclosed <b>bold", "unclosed bold"),
        ("<style>p {color: red}</style><title>t</title>x", "x"),
        ("&lt;script&gt;alert(1)&lt;/script&gt;", "<script>alert(1)</script>"),
    ],
)
def test_html_to_text(html: str, text: str) -> None:
    assert html_to_text(html) == text
