"""The bodies of the sla HTTP API: policies as clients write and read them, and an incident's
clocks as the board shows them."""

from datetime import datetime, timedelta
from typing import Annotated, Any

from incident_events.types import CustomerTier, Severity, SlaMetric
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    TypeAdapter,
    WithJsonSchema,
    field_validator,
)

from sla.calendars import CALENDARS
from sla.domain import Policy, SlaClock, time_to_breach
from sla.tables import PolicyRow

_DURATION = TypeAdapter(timedelta)


def _seconds(value: Any) -> Any:
    """An ISO 8601 duration ("PT1H") becomes whole seconds; numbers pass on to int checks."""
    if not isinstance(value, str):
        return value
    seconds = _DURATION.validate_python(value).total_seconds()
    if seconds != int(seconds):
        raise ValueError("must be a whole number of seconds")
    return int(seconds)


TargetSeconds = Annotated[
    int,
    BeforeValidator(_seconds),
    Field(gt=0, le=366 * 24 * 3600),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "string", "format": "duration", "examples": ["PT1H"]},
                {"type": "integer", "minimum": 1},
            ],
            "description": "ISO 8601 duration or seconds; answered in seconds.",
        }
    ),
]
Percent = Annotated[int, Field(ge=1, le=99)]


class PolicyMatch(BaseModel):
    """What a policy applies to; an empty list matches any value."""

    model_config = ConfigDict(extra="forbid")

    tiers: list[CustomerTier] = Field(default_factory=list)
    severities: list[Severity] = Field(default_factory=list)
    kinds: list[Annotated[str, Field(min_length=1, max_length=64)]] = Field(default_factory=list)


class PolicyTargets(BaseModel):
    model_config = ConfigDict(extra="forbid")

    first_response: TargetSeconds
    update_interval: TargetSeconds | None = None
    resolution: TargetSeconds


class PolicyBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    priority: int = Field(ge=0, le=1_000_000, description="Lower wins when several match.")
    match: PolicyMatch = Field(default_factory=PolicyMatch)
    targets: PolicyTargets
    warn_at_percent: list[Percent] = Field(default_factory=lambda: [75], max_length=10)
    calendar: str = "24x7"

    @field_validator("calendar")
    @classmethod
    def _known_calendar(cls, value: str) -> str:
        if value not in CALENDARS:
            raise ValueError(f"unknown calendar; known: {', '.join(sorted(CALENDARS))}")
        return value

    def to_policy(self, policy_id: str) -> Policy:
        return Policy(
            policy_id=policy_id,
            name=self.name,
            priority=self.priority,
            first_response_seconds=self.targets.first_response,
            resolution_seconds=self.targets.resolution,
            update_interval_seconds=self.targets.update_interval,
            match_tiers=tuple(str(t) for t in self.match.tiers),
            match_severities=tuple(str(s) for s in self.match.severities),
            match_kinds=tuple(self.match.kinds),
            warn_at_percent=tuple(sorted(set(self.warn_at_percent))),
            calendar=self.calendar,
        )


class PolicyOut(PolicyBody):
    policy_id: str
    updated_at: datetime

    @classmethod
    def of(cls, row: PolicyRow) -> "PolicyOut":
        return cls(
            policy_id=row.policy_id,
            name=row.name,
            priority=row.priority,
            match=PolicyMatch.model_validate(
                {
                    "tiers": row.match_tiers,
                    "severities": row.match_severities,
                    "kinds": row.match_kinds,
                }
            ),
            targets=PolicyTargets(
                first_response=row.first_response_seconds,
                update_interval=row.update_interval_seconds,
                resolution=row.resolution_seconds,
            ),
            warn_at_percent=row.warn_at_percent,
            calendar=row.calendar,
            updated_at=row.updated_at,
        )


class ClockView(BaseModel):
    clock_id: str
    metric: SlaMetric
    policy_id: str
    status: str = Field(description="running, met or breached")
    started_at: datetime
    due_at: datetime
    stopped_at: datetime | None
    warned_percents: list[int]
    time_to_breach_seconds: float | None = Field(
        description="Seconds left before due; negative once breached; null when met."
    )

    @classmethod
    def of(cls, clock: SlaClock, now: datetime) -> "ClockView":
        return cls(
            clock_id=clock.clock_id,
            metric=clock.metric,
            policy_id=clock.policy_id,
            status=str(clock.status),
            started_at=clock.started_at,
            due_at=clock.due_at,
            stopped_at=clock.stopped_at,
            warned_percents=list(clock.warned_percents),
            time_to_breach_seconds=time_to_breach(clock, now),
        )


class IncidentSla(BaseModel):
    incident_id: str
    assignee_agent_id: str | None
    clocks: list[ClockView]
