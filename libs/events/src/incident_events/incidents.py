"""Facts intake publishes about an incident's life: reported, status, comments, resolution."""

from typing import ClassVar

from pydantic import BaseModel, ConfigDict, EmailStr, Field

from incident_events.envelope import EventData
from incident_events.topics import Topic
from incident_events.types import (
    Channel,
    CustomerTier,
    IncidentKind,
    IncidentStatus,
    Severity,
    UtcDatetime,
    Visibility,
)

# A string on the wire, not the enumeration: events published before kinds were enumerated carry
# free text, and narrowing the field would make them unreadable (see schemas.breaking_changes).
KIND_VALUES = [kind.value for kind in IncidentKind]
KIND_DESCRIPTION = f"One of {', '.join(KIND_VALUES)}; older events may carry other text."


class CustomerRef(BaseModel):
    """Who reported it and how to reach them, as known when the fact was emitted."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    customer_id: str
    name: str | None = None
    email: EmailStr | None = None
    phone: str | None = None
    language: str = Field(default="en", description="BCP 47 primary language, e.g. en, cs, pl.")
    tier: CustomerTier = CustomerTier.STANDARD
    time_zone: str | None = Field(
        default=None,
        description="IANA time zone the customer lives in, e.g. Europe/Prague; null if unknown.",
    )


class IncidentReported(EventData):
    event_type: ClassVar[str] = "incident.reported.v1"
    topic: ClassVar[Topic] = Topic.INCIDENTS

    reference: str = Field(description="Human-readable reference, e.g. INC-000042.")
    title: str
    description: str = ""
    severity: Severity
    kind: str = Field(default="incident", description=KIND_DESCRIPTION, examples=KIND_VALUES)
    channel: Channel
    customer: CustomerRef
    language: str = "en"
    required_skills: list[str] = Field(default_factory=list)
    reported_at: UtcDatetime
    dedup_key: str | None = None
    logged_by: str | None = Field(
        default=None,
        description="The agent who logged the report for the customer, e.g. taken by phone or fax.",
    )


class IncidentStatusChanged(EventData):
    event_type: ClassVar[str] = "incident.status_changed.v1"
    topic: ClassVar[Topic] = Topic.INCIDENTS

    from_status: IncidentStatus
    to_status: IncidentStatus
    changed_at: UtcDatetime
    changed_by: str | None = None
    reason: str | None = None
    waiting_since: UtcDatetime | None = Field(
        default=None,
        description="Set when leaving waiting_on_customer: when that wait began, so a clock can "
        "pause from then until changed_at.",
    )


class IncidentCommented(EventData):
    event_type: ClassVar[str] = "incident.commented.v1"
    topic: ClassVar[Topic] = Topic.INCIDENTS

    comment_id: str
    author_kind: str = Field(description="agent, customer or system (AuthorKind)")
    author_id: str | None = None
    visibility: Visibility
    body: str
    first_agent_reply: bool = False
    commented_at: UtcDatetime


class IncidentResolved(EventData):
    event_type: ClassVar[str] = "incident.resolved.v1"
    topic: ClassVar[Topic] = Topic.INCIDENTS

    resolved_at: UtcDatetime
    resolution: str = Field(default="", description="The resolution summary the customer is told.")
    resolved_by: str | None = None


class IncidentReopened(EventData):
    event_type: ClassVar[str] = "incident.reopened.v1"
    topic: ClassVar[Topic] = Topic.INCIDENTS

    reopened_at: UtcDatetime
    reason: str = ""
    reopened_by: str | None = None
    from_status: IncidentStatus | None = Field(default=None, description="resolved or closed")


class IncidentSeverityChanged(EventData):
    event_type: ClassVar[str] = "incident.severity_changed.v1"
    topic: ClassVar[Topic] = Topic.INCIDENTS

    from_severity: Severity
    to_severity: Severity
    changed_at: UtcDatetime
    changed_by: str | None = None
    reason: str | None = None


class IncidentKindChanged(EventData):
    event_type: ClassVar[str] = "incident.kind_changed.v1"
    topic: ClassVar[Topic] = Topic.INCIDENTS

    from_kind: str = Field(description=KIND_DESCRIPTION, examples=KIND_VALUES)
    to_kind: str = Field(description=KIND_DESCRIPTION, examples=KIND_VALUES)
    changed_at: UtcDatetime
    changed_by: str | None = None
    reason: str | None = None
