"""What intake's API answers: the incident, its public timeline, and pages of incidents."""

from collections.abc import Iterable
from datetime import datetime
from typing import Annotated, Literal

from incident_events import EventData
from incident_events.incidents import (
    CustomerRef,
    IncidentCommented,
    IncidentResolved,
    IncidentStatusChanged,
)
from incident_events.routing import IncidentAssigned
from incident_events.types import (
    AuthorKind,
    Channel,
    CustomerTier,
    IncidentKind,
    IncidentStatus,
    Severity,
)
from pydantic import BaseModel, Field

from intake.domain import Incident


class CustomerOut(BaseModel):
    """The customer as an incident shows it. Name, e-mail and phone are null for a client that
    may only report: its report may have attached to a customer another client knows."""

    customer_id: str
    name: str | None
    email: str | None
    phone: str | None
    language: str
    tier: CustomerTier
    time_zone: str | None = Field(description="IANA time zone, e.g. Europe/Prague")

    @classmethod
    def of(cls, customer: CustomerRef, *, contacts: bool = True) -> "CustomerOut":
        shown = customer.model_dump()
        if not contacts:
            shown |= {"name": None, "email": None, "phone": None}
        return cls.model_validate(shown)


class AssigneeOut(BaseModel):
    agent_id: str
    name: str | None
    reason: str


class IncidentOut(BaseModel):
    incident_id: str
    reference: str
    status: IncidentStatus
    title: str
    description: str
    severity: Severity
    kind: IncidentKind
    channel: Channel
    logged_by: str | None = Field(description="The agent who logged it (phone, fax).")
    customer: CustomerOut
    language: str
    required_skills: list[str]
    assignee: AssigneeOut | None
    client_id: str = Field(description="The client system that reported it.")
    resolution: str | None = Field(description="The summary of the latest resolution.")
    resolved_at: datetime | None
    closed_at: datetime | None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, incident: Incident, *, contacts: bool = True) -> "IncidentOut":
        """`contacts`: whether to show the customer's name, e-mail and phone."""
        assignee = incident.assignee
        return cls(
            incident_id=incident.incident_id,
            reference=incident.reference,
            status=incident.status,
            title=incident.title,
            description=incident.description,
            severity=incident.severity,
            kind=incident.kind,
            channel=incident.channel,
            logged_by=incident.logged_by,
            customer=CustomerOut.of(incident.customer, contacts=contacts),
            language=incident.language,
            required_skills=list(incident.required_skills),
            assignee=AssigneeOut(
                agent_id=assignee.agent_id, name=assignee.name, reason=assignee.reason
            )
            if assignee
            else None,
            client_id=incident.client_id,
            resolution=incident.resolution,
            resolved_at=incident.resolved_at,
            closed_at=incident.closed_at,
            created_at=incident.created_at,
            updated_at=incident.updated_at,
        )


class ReportedEntry(BaseModel):
    type: Literal["reported"] = "reported"
    at: datetime
    channel: Channel


class StatusChangedEntry(BaseModel):
    type: Literal["status_changed"] = "status_changed"
    at: datetime
    from_status: IncidentStatus
    to_status: IncidentStatus
    reason: str | None
    changed_by: str | None


class ResolvedEntry(BaseModel):
    type: Literal["resolved"] = "resolved"
    at: datetime
    resolution: str
    resolved_by: str | None


class AssignedEntry(BaseModel):
    type: Literal["assigned"] = "assigned"
    at: datetime
    agent_id: str
    agent_name: str | None
    reason: str


class CommentEntry(BaseModel):
    type: Literal["comment"] = "comment"
    at: datetime
    comment_id: str
    author_kind: AuthorKind
    author_id: str | None
    body: str
    first_agent_reply: bool


TimelineEntry = Annotated[
    ReportedEntry | StatusChangedEntry | ResolvedEntry | AssignedEntry | CommentEntry,
    Field(discriminator="type"),
]


def timeline_entry(fact: EventData) -> TimelineEntry | None:
    """The public entry of a stored fact; None for facts the timeline does not show."""
    match fact:
        case IncidentStatusChanged():
            return StatusChangedEntry(
                at=fact.changed_at,
                from_status=fact.from_status,
                to_status=fact.to_status,
                reason=fact.reason,
                changed_by=fact.changed_by,
            )
        case IncidentResolved():
            return ResolvedEntry(
                at=fact.resolved_at, resolution=fact.resolution, resolved_by=fact.resolved_by
            )
        case IncidentAssigned():
            return AssignedEntry(
                at=fact.assigned_at,
                agent_id=fact.agent_id,
                agent_name=fact.agent_name,
                reason=fact.reason,
            )
        case IncidentCommented():
            return CommentEntry(
                at=fact.commented_at,
                comment_id=fact.comment_id,
                author_kind=AuthorKind(fact.author_kind),
                author_id=fact.author_id,
                body=fact.body,
                first_agent_reply=fact.first_agent_reply,
            )
        case _:
            return None


class IncidentDetailOut(IncidentOut):
    """One incident as GET /v1/incidents/{id} shows it."""

    allowed_transitions: list[IncidentStatus] = Field(
        description="The statuses POST /v1/incidents/{id}/status may move it to now."
    )
    timeline: list[TimelineEntry] = Field(
        description="Oldest first: the report, status changes, the resolution, assignments and "
        "public comments; never internal notes."
    )

    @classmethod
    def with_timeline(
        cls,
        incident: Incident,
        public_facts: Iterable[EventData],
        allowed: Iterable[IncidentStatus],
        *,
        contacts: bool = True,
    ) -> "IncidentDetailOut":
        entries: list[TimelineEntry] = [
            ReportedEntry(at=incident.created_at, channel=incident.channel)
        ]
        entries += [entry for fact in public_facts if (entry := timeline_entry(fact))]
        return cls(
            **IncidentOut.of(incident, contacts=contacts).model_dump(),
            allowed_transitions=sorted(allowed, key=list(IncidentStatus).index),
            timeline=entries,
        )


class CommentOut(BaseModel):
    comment_id: str
    incident_id: str
    author_kind: AuthorKind
    author_id: str | None
    visibility: str
    body: str
    first_agent_reply: bool
    created_at: datetime
    incident_status: IncidentStatus = Field(description="The incident's status after it.")

    @classmethod
    def of(cls, comment: IncidentCommented, incident: Incident) -> "CommentOut":
        return cls(
            comment_id=comment.comment_id,
            incident_id=comment.incident_id,
            author_kind=AuthorKind(comment.author_kind),
            author_id=comment.author_id,
            visibility=comment.visibility,
            body=comment.body,
            first_agent_reply=comment.first_agent_reply,
            created_at=comment.commented_at,
            incident_status=incident.status,
        )


class IncidentPage(BaseModel):
    items: list[IncidentOut]
    next_cursor: str | None = Field(
        description="Pass as `cursor` for the next page; null on the last one."
    )
