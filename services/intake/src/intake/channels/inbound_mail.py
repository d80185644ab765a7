"""An inbound e-mail as intake reads it (pure): who sent it, the incident reference its subject
quotes, its text (plain, or HTML made text), its attachments listed by name, type and size,
and the report or comment it becomes. What the customer wrote is kept as given; it is escaped
wherever it is rendered."""

import hashlib
import re
import uuid
from dataclasses import dataclass
from email import policy
from email.headerregistry import Address
from email.message import EmailMessage, MIMEPart
from email.parser import BytesParser

from email_validator import EmailNotValidError, validate_email
from incident_events.types import AuthorKind, Channel, Severity, Visibility

from intake.channels.mail_text import html_to_text
from intake.domain import Comment, CustomerDetails, IncidentReport, derive_customer_id

REFERENCE = re.compile(r"\bINC-(\d{6,12})\b", re.IGNORECASE)
LANGUAGE = re.compile(r"^\s*([a-z]{2})\b", re.IGNORECASE)
TITLE_LIMIT, TEXT_LIMIT, NAME_LIMIT = 200, 18_000, 200
COMMENT_IDS = uuid.UUID("0b6f4a6e-4a39-4b7e-9f50-6a1e2d3c4b5a")  # namespace of mail comments


class UnusableSender(ValueError):
    """The message has no sender address a customer can be found by."""


@dataclass(frozen=True)
class Attachment:
    filename: str
    content_type: str
    size: int


@dataclass(frozen=True)
class InboundMail:
    sender: str  # the address, as written
    sender_name: str | None
    subject: str
    message_id: str | None
    language: str | None
    text: str
    attachments: tuple[Attachment, ...]

    @property
    def reference(self) -> str | None:
        """The incident reference the subject quotes, e.g. "Re: [INC-000123] ...": a reply."""
        found = REFERENCE.search(self.subject)
        return f"INC-{found.group(1)}" if found else None

    @property
    def customer_id(self) -> str:
        return derive_customer_id(customer_id=None, email=self.sender, phone=None) or ""


def read_mail(raw: bytes, *, envelope_sender: str | None) -> InboundMail:
    """The message's parts that matter; the From header names the customer (the envelope's
    sender is often a bounce address), the envelope only when From is missing."""
    message = BytesParser(policy=policy.default).parsebytes(raw)
    if not isinstance(message, EmailMessage):
        raise TypeError("the default policy parses into EmailMessage")
    address, name = _sender(message, envelope_sender)
    language = LANGUAGE.match(str(message.get("Content-Language", "")))
    return InboundMail(
        sender=address,
        sender_name=name,
        subject=" ".join(_without_nul(str(message.get("Subject", ""))).split()),
        message_id=str(message["Message-ID"]).strip() if message["Message-ID"] else None,
        language=language.group(1).lower() if language else None,
        text=_text_of(message),
        attachments=tuple(_attachments_of(message)),
    )


def _sender(message: EmailMessage, envelope_sender: str | None) -> tuple[str, str | None]:
    try:
        addresses: tuple[Address, ...] = message["From"].addresses if message["From"] else ()
    except (AttributeError, IndexError, ValueError):
        addresses = ()  # an unparsable From header: as if missing
    address = addresses[0].addr_spec if addresses else (envelope_sender or "")
    name = (addresses[0].display_name.strip() or None) if addresses else None
    try:
        checked = validate_email(address, check_deliverability=False).normalized
    except EmailNotValidError as error:
        raise UnusableSender(f"{address or 'no sender'}: {error}") from error
    return checked, _without_nul(name)[:NAME_LIMIT] if name else None


def _without_nul(text: str) -> str:
    # PostgreSQL text cannot hold NUL; everything else is kept as written.
    return text.replace("\x00", "")


def _text_of(message: EmailMessage) -> str:
    body = message.get_body(preferencelist=("plain", "html"))
    if body is None:
        return ""
    content = _decoded(body)
    text = html_to_text(content) if body.get_content_subtype() == "html" else content
    return _without_nul(text).strip()[:TEXT_LIMIT]


def _decoded(part: MIMEPart) -> str:
    try:
        return str(part.get_content())
    except (LookupError, ValueError):  # an unknown charset or a broken transfer encoding
        payload = part.get_payload(decode=True)
        return payload.decode("utf-8", "replace") if isinstance(payload, bytes) else ""


def _attachments_of(message: EmailMessage) -> list[Attachment]:
    found = []
    for part in message.iter_attachments():
        payload = part.get_payload(decode=True)
        filename = _without_nul(part.get_filename() or "(unnamed)")[:NAME_LIMIT]
        size = len(payload) if isinstance(payload, bytes) else 0
        found.append(Attachment(filename, part.get_content_type(), size))
    return found


def describe(mail: InboundMail, *, follows: str | None = None) -> str:
    """The text, the attachments listed after it, and the incident it follows up, if any."""
    lines = [f"(Follows up {follows}, which is closed.)", ""] if follows else []
    lines.append(mail.text or "(no text)")
    if mail.attachments:
        lines += ["", "Attachments (listed, not stored):"]
        lines += [f"- {a.filename} ({a.content_type}, {a.size} bytes)" for a in mail.attachments]
    return "\n".join(lines)


def report_of(
    mail: InboundMail, *, severity: Severity, follows: str | None = None
) -> IncidentReport:
    first_line = next((line for line in mail.text.splitlines() if line.strip()), "")
    title = mail.subject or first_line or "(no subject)"
    return IncidentReport(
        title=title[:TITLE_LIMIT].strip() or "(no subject)",
        description=describe(mail, follows=follows),
        severity=severity,
        customer=CustomerDetails(
            customer_id=mail.customer_id, name=mail.sender_name, email=mail.sender
        ),
        channel=Channel.EMAIL,
        language=mail.language,
    )


def comment_of(mail: InboundMail) -> Comment:
    """The customer's public comment; its id follows from the Message-ID, so a message
    delivered twice is recognised."""
    comment_id = uuid.uuid5(COMMENT_IDS, mail.message_id) if mail.message_id else uuid.uuid4()
    return Comment(
        comment_id=str(comment_id),
        author_kind=AuthorKind.CUSTOMER,
        author_id=None,
        visibility=Visibility.PUBLIC,
        body=describe(mail),
    )


def idempotency_key(mail: InboundMail, description: str) -> str | None:
    """The same message delivered again (a lost reply to DATA) is the same incident: keyed by
    its Message-ID and content, so a reused Message-ID with other content is a new one."""
    if not mail.message_id:
        return None
    content = "\x00".join([mail.message_id, mail.sender, mail.subject, description])
    return "email:" + hashlib.sha256(content.encode()).hexdigest()
