"""Facts router publishes: offers, acceptance, declines, assignments and queueing."""

from typing import ClassVar

from pydantic import Field

from incident_events.envelope import EventData
from incident_events.topics import Topic
from incident_events.types import UtcDatetime


class AssignmentOffered(EventData):
    event_type: ClassVar[str] = "assignment.offered.v1"
    topic: ClassVar[Topic] = Topic.ASSIGNMENTS

    offer_id: str
    agent_id: str
    reason: str
    offered_at: UtcDatetime
    expires_at: UtcDatetime


class AssignmentAccepted(EventData):
    event_type: ClassVar[str] = "assignment.accepted.v1"
    topic: ClassVar[Topic] = Topic.ASSIGNMENTS

    offer_id: str
    agent_id: str
    accepted_at: UtcDatetime


class AssignmentDeclined(EventData):
    event_type: ClassVar[str] = "assignment.declined.v1"
    topic: ClassVar[Topic] = Topic.ASSIGNMENTS

    offer_id: str
    agent_id: str
    reason: str = Field(description="declined, timeout or escalation")
    declined_at: UtcDatetime


class IncidentAssigned(EventData):
    event_type: ClassVar[str] = "incident.assigned.v1"
    topic: ClassVar[Topic] = Topic.ASSIGNMENTS

    agent_id: str
    agent_name: str | None = None
    team_id: str | None = None
    reason: str = Field(description="Why this agent: matched skills, language, tier, load.")
    assigned_at: UtcDatetime


class AssignmentQueued(EventData):
    event_type: ClassVar[str] = "assignment.queued.v1"
    topic: ClassVar[Topic] = Topic.ASSIGNMENTS

    reason: str
    queued_at: UtcDatetime
