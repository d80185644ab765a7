"""Comments on an incident: who may write what, the first public agent reply (it stops the
first-response clock), and a customer's reply ending a wait on the customer."""

from dataclasses import dataclass, replace
from datetime import datetime

from incident_events import EventData
from incident_events.incidents import IncidentCommented
from incident_events.types import AuthorKind, IncidentStatus, Visibility

from intake.domain.lifecycle import StatusChange, status_changed
from intake.domain.model import Incident, IncidentNotOpen, InvalidChange, Outcome

CUSTOMER_REPLIED = "the customer replied"


@dataclass(frozen=True)
class Comment:
    comment_id: str
    author_kind: AuthorKind
    author_id: str | None
    visibility: Visibility
    body: str


def add_comment(incident: Incident, comment: Comment, *, now: datetime) -> Outcome:
    """The comment as a fact; a customer's comment moves a waiting incident back to work.
    A closed incident takes no more comments: the customer opens a new one."""
    if incident.status == IncidentStatus.CLOSED:
        raise IncidentNotOpen(incident.status, "take comments")
    author_id = _author_of(incident, comment)
    first_reply = (
        comment.author_kind == AuthorKind.AGENT
        and comment.visibility == Visibility.PUBLIC
        and incident.first_agent_reply_at is None
    )
    facts: list[EventData] = [
        IncidentCommented(
            incident_id=incident.incident_id,
            comment_id=comment.comment_id,
            author_kind=comment.author_kind.value,
            author_id=author_id,
            visibility=comment.visibility,
            body=comment.body,
            first_agent_reply=first_reply,
            commented_at=now,
        )
    ]
    changed = replace(incident, updated_at=now)
    if first_reply:
        changed = replace(changed, first_agent_reply_at=now)
    if (
        comment.author_kind == AuthorKind.CUSTOMER
        and incident.status == IncidentStatus.WAITING_ON_CUSTOMER
    ):
        back_to_work = StatusChange(IncidentStatus.IN_PROGRESS, CUSTOMER_REPLIED, author_id)
        facts.append(status_changed(incident, back_to_work, now=now))
        changed = replace(changed, status=IncidentStatus.IN_PROGRESS, status_changed_at=now)
    return Outcome(changed, facts)


def _author_of(incident: Incident, comment: Comment) -> str | None:
    """The author's id; a customer may write only on their own incident, and only in public."""
    if comment.author_kind != AuthorKind.CUSTOMER:
        return comment.author_id
    if comment.visibility != Visibility.PUBLIC:
        raise InvalidChange("visibility", "a customer's comment is always public")
    customer_id = incident.customer.customer_id
    if comment.author_id not in (None, customer_id):
        raise InvalidChange("author.id", "not the customer of this incident")
    return customer_id
