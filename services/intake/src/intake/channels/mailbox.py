"""What intake does with a message its SMTP server receives, answered as an SMTP reply line:
a reply quoting the reference of an incident of the sender becomes their public comment on it;
any other message becomes a new incident of the customer found by the sender's address.

A reply to a closed incident, or quoting a reference that does not exist, opens a new incident
(the customer is never left unheard); one quoting another customer's incident is refused, as
anyone can write any reference in a subject. Reports come from the built-in client `email`,
which holds only `report`.
"""

import logging

from incident_events.types import Severity

from intake import domain
from intake.channels.desk import ChannelDesk
from intake.channels.inbound_mail import (
    InboundMail,
    UnusableSender,
    comment_of,
    idempotency_key,
    read_mail,
    report_of,
)
from intake.domain import EMAIL_CLIENT, Incident

log = logging.getLogger(__name__)


class Mailbox:
    def __init__(self, desk: ChannelDesk, *, severity: Severity) -> None:
        self._desk, self._severity = desk, severity

    async def receive(self, raw: bytes, *, envelope_sender: str | None) -> str:
        """The SMTP reply to the message; infrastructure errors are raised for a 4xx."""
        try:
            mail = read_mail(raw, envelope_sender=envelope_sender)
        except UnusableSender as error:
            return f"550 5.1.7 No usable sender address ({error})"
        reference = mail.reference
        incident = await self._desk.by_reference(reference) if reference else None
        if incident is not None:
            if not await self._written_by_its_customer(incident, mail):
                return (
                    f"550 5.7.1 {incident.reference} is not an incident of {mail.sender}; "
                    "write without the reference to open a new one"
                )
            answer = await self._comment(incident, mail)
            if answer is not None:
                return answer
        follows = incident.reference if incident else None
        return await self._report(mail, follows=follows)

    async def _comment(self, incident: Incident, mail: InboundMail) -> str | None:
        """The reply once commented; None when the incident is closed."""
        comment = comment_of(mail)
        if await self._desk.has_comment(incident.incident_id, comment.comment_id):
            return f"250 2.0.0 Already added to {incident.reference}"
        try:
            await self._desk.comment(incident.incident_id, comment)
        except domain.IncidentNotOpen:
            return None
        log.info("mail from a customer added to %s", incident.reference)
        return f"250 2.0.0 Added to {incident.reference}"

    async def _report(self, mail: InboundMail, *, follows: str | None) -> str:
        report = report_of(mail, severity=self._severity, follows=follows)
        outcome = await self._desk.report(
            report,
            client=EMAIL_CLIENT,
            idempotency_key=idempotency_key(mail, report.description),
        )
        reference = outcome.incident.reference
        log.info("mail reported as %s", reference)
        return f"250 2.0.0 Reported as {reference}"

    async def _written_by_its_customer(self, incident: Incident, mail: InboundMail) -> bool:
        """The sender's address is the incident customer's: the one on its record, or any the
        customer is known by across channels (domain.customers)."""
        customer = incident.customer
        if customer.customer_id == mail.customer_id:
            return True
        if (customer.email or "").lower() == mail.sender.lower():
            return True
        return await self._desk.customer_of_address(mail.sender) == customer.customer_id
