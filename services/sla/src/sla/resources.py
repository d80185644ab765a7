"""The bodies of the sla HTTP API: policies as clients write and read them, and an incident's
clocks (GET /v1/incidents/{id}/sla)."""

import re
from datetime import datetime
from typing import Annotated, Any

from incident_events.types import CustomerTier, Severity, SlaMetric
from incident_kit.fields import NoCoercion, NoNul, refuse_coercion
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    JsonValue,
    WithJsonSchema,
    field_validator,
)

from sla.calendars import CALENDARS
from sla.domain import Policy, SlaClock, time_to_breach
from sla.tables import PolicyRow

# ISO 8601 durations in days, hours, minutes and seconds, each at most three digits: a set
# that a pattern describes exactly, so clients (and the fuzzer) know what is accepted. Years,
# months and weeks have no fixed length; fractions are not whole seconds.
_TIME = r"T(?:\d{1,3}H(?:\d{1,3}M)?(?:\d{1,3}S)?|\d{1,3}M(?:\d{1,3}S)?|\d{1,3}S)"
DURATION = re.compile(rf"^P(?:\d{{1,3}}D(?:{_TIME})?|{_TIME})$")
# What the pattern admits without a length of time.
ZERO_DURATION = r"^P(?:0+D)?(?:T(?:0+H)?(?:0+M)?(?:0+S)?)?$"
# The longest target: above the longest duration the pattern admits (P999DT999H999M999S).
MAX_TARGET_SECONDS = 1100 * 24 * 3600
_UNIT_SECONDS = {"D": 86400, "H": 3600, "M": 60, "S": 1}  # M only follows T: minutes


def _seconds(value: Any) -> Any:
    """An ISO 8601 duration ("PT1H") becomes whole seconds; numbers, not booleans, pass on to
    the int checks."""
    if not isinstance(value, str):
        return refuse_coercion(value)
    if not DURATION.match(value):
        raise ValueError("must be seconds or a duration like PT1H, P1DT12H or PT90M")
    return sum(int(n) * _UNIT_SECONDS[unit] for n, unit in re.findall(r"(\d+)([DHMS])", value))


TargetSeconds = Annotated[
    int,
    BeforeValidator(_seconds),
    Field(gt=0, le=MAX_TARGET_SECONDS),
    WithJsonSchema(
        {
            "anyOf": [
                {
                    "type": "string",
                    "pattern": DURATION.pattern,
                    "not": {"pattern": ZERO_DURATION},
                    "examples": ["PT1H"],
                },
                {"type": "integer", "minimum": 1, "maximum": MAX_TARGET_SECONDS},
            ],
            "description": "ISO 8601 duration (days, hours, minutes, seconds) or seconds; "
            "answered in seconds.",
        }
    ),
]
CALENDAR_NAMES: list[JsonValue] = [*sorted(CALENDARS)]  # the schema's enum of `calendar`
Percent = Annotated[int, Field(ge=1, le=99), NoCoercion]


class PolicyMatch(BaseModel):
    """What a policy applies to; an empty list matches any value."""

    model_config = ConfigDict(extra="forbid")

    tiers: list[CustomerTier] = Field(default_factory=list)
    severities: list[Severity] = Field(default_factory=list)
    kinds: list[Annotated[str, Field(min_length=1, max_length=64), NoNul]] = Field(
        default_factory=list
    )


class PolicyTargets(BaseModel):
    model_config = ConfigDict(extra="forbid")

    first_response: TargetSeconds
    update_interval: TargetSeconds | None = None
    resolution: TargetSeconds


class PolicyBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Annotated[str, NoNul] = Field(min_length=1, max_length=200)
    priority: Annotated[int, NoCoercion] = Field(
        ge=0, le=1_000_000, description="Lower wins when several match."
    )
    match: PolicyMatch = Field(default_factory=PolicyMatch)
    targets: PolicyTargets
    warn_at_percent: list[Percent] = Field(default_factory=lambda: [75], max_length=10)
    calendar: str = Field(default="24x7", json_schema_extra={"enum": CALENDAR_NAMES})

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
