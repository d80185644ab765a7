"""Facts sla publishes: clocks started, warned, breached, met, breaches retracted; escalations;
compensation."""

from typing import ClassVar

from pydantic import Field

from incident_events.envelope import EventData
from incident_events.topics import Topic
from incident_events.types import SlaMetric, UtcDatetime


class SlaClockStarted(EventData):
    event_type: ClassVar[str] = "sla.clock_started.v1"
    topic: ClassVar[Topic] = Topic.SLA

    clock_id: str
    metric: SlaMetric
    policy_id: str
    target_seconds: int = Field(ge=0, description="The agreed window, in calendar seconds.")
    started_at: UtcDatetime
    due_at: UtcDatetime


class SlaWarning(EventData):
    event_type: ClassVar[str] = "sla.warning.v1"
    topic: ClassVar[Topic] = Topic.SLA

    clock_id: str
    metric: SlaMetric
    percent: int = Field(ge=0, le=100)
    due_at: UtcDatetime
    warned_at: UtcDatetime


class SlaBreached(EventData):
    event_type: ClassVar[str] = "sla.breached.v1"
    topic: ClassVar[Topic] = Topic.SLA

    clock_id: str
    metric: SlaMetric
    policy_id: str
    due_at: UtcDatetime
    breached_at: UtcDatetime


class SlaMet(EventData):
    event_type: ClassVar[str] = "sla.met.v1"
    topic: ClassVar[Topic] = Topic.SLA

    clock_id: str
    metric: SlaMetric
    due_at: UtcDatetime
    met_at: UtcDatetime


class SlaBreachRetracted(EventData):
    """A published breach was false: a reply or resolution from before the due moment reached
    sla only after the breach. The clock counts as met at `met_at`; this replaces the breach."""

    event_type: ClassVar[str] = "sla.breach_retracted.v1"
    topic: ClassVar[Topic] = Topic.SLA

    clock_id: str
    metric: SlaMetric
    due_at: UtcDatetime
    met_at: UtcDatetime


class SlaUpdateDue(EventData):
    event_type: ClassVar[str] = "sla.update_due.v1"
    topic: ClassVar[Topic] = Topic.SLA

    clock_id: str
    due_at: UtcDatetime


class IncidentEscalated(EventData):
    event_type: ClassVar[str] = "incident.escalated.v1"
    topic: ClassVar[Topic] = Topic.SLA

    escalation_id: str
    level: int = Field(ge=1)
    reason: str
    notify: list[str] = Field(default_factory=list, description="Who the chain notifies.")
    escalated_at: UtcDatetime


class CompensationGranted(EventData):
    event_type: ClassVar[str] = "compensation.granted.v1"
    topic: ClassVar[Topic] = Topic.SLA

    customer_id: str
    kind: str = Field(description="e.g. service_credit")
    amount: str = Field(description="Decimal as text, to keep it exact.")
    currency: str = Field(min_length=3, max_length=3)
    reason: str
    granted_at: UtcDatetime
