"""PagerDuty Events API v2 events, as intake accepts them on /v1/integrations/events, and the
incidents they report (pure). A trigger reports an incident; acknowledge and resolve act on the
open incident holding the event's dedup_key.

dedup_keys are their client's own (the client the routing key belongs to). A routing key of
INTAKE_EVENTS_ROUTING_KEYS belongs to the built-in client `events`, shared by every such key,
so its dedup_keys are also kept per routing key, as PagerDuty keeps them per integration: the
stored key is `events:<digest of routing key>:<dedup_key>`, so two senders never share an
incident by choosing the same key; the digest keeps the routing key itself, a credential, out
of the data. A client's own API key as routing key stores `events:<dedup_key>`, kept per
client, so that rotating the key leaves its open incidents within reach.
"""

import hashlib
import json
from datetime import datetime
from typing import Annotated, Any, Literal, Self

from incident_events.types import Channel, Severity
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from intake.domain import CustomerDetails, IncidentReport
from intake.schemas.fields import NoNul

SOURCE = "events_api"
SEVERITIES: dict[str, Severity] = {
    "critical": Severity.CRITICAL,
    "error": Severity.HIGH,
    "warning": Severity.MEDIUM,
    "info": Severity.LOW,
}
TITLE_LIMIT, DESCRIPTION_LIMIT = 200, 20_000


Summary = Annotated[str, StringConstraints(min_length=1, max_length=1024), NoNul]
Key = Annotated[str, StringConstraints(min_length=1, max_length=255), NoNul]
Label = Annotated[str, StringConstraints(max_length=255), NoNul]
LongText = Annotated[str, StringConstraints(max_length=2048), NoNul]


class EventPayload(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    summary: Summary
    source: Key
    severity: Literal["critical", "error", "warning", "info"]
    timestamp: datetime | None = None
    component: Label | None = None
    group: Label | None = None
    class_: Label | None = Field(default=None, alias="class")
    custom_details: dict[str, Any] | None = None


class EventIn(BaseModel):
    """A PagerDuty Events API v2 event; a trigger needs its payload, acknowledge and resolve
    their dedup_key."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    routing_key: Key
    event_action: Literal["trigger", "acknowledge", "resolve"]
    dedup_key: Key | None = None
    payload: EventPayload | None = None
    images: list[dict[str, Any]] = Field(default_factory=list, max_length=50)
    links: list[dict[str, Any]] = Field(default_factory=list, max_length=50)
    client: LongText | None = None
    client_url: LongText | None = None

    @model_validator(mode="after")
    def _complete(self) -> Self:
        if self.event_action == "trigger" and self.payload is None:
            raise ValueError("payload: required to trigger")
        if self.event_action != "trigger" and self.dedup_key is None:
            raise ValueError(f"dedup_key: required to {self.event_action}")
        return self


def stored_dedup_key(routing_key: str | None, dedup_key: str) -> str:
    """The dedup_key as stored, kept per routing key (None: per client only)."""
    if routing_key is None:
        return f"events:{dedup_key}"
    digest = hashlib.sha256(routing_key.encode()).hexdigest()[:12]
    return f"events:{digest}:{dedup_key}"


def report_of(
    payload: EventPayload, *, routing_key: str | None, dedup_key: str, customer_id: str | None
) -> IncidentReport:
    """The incident a trigger reports, for the routing key's customer (else one per source)."""
    return IncidentReport(
        title=_bounded(" ".join(payload.summary.split()) or "(no summary)", TITLE_LIMIT),
        description=_bounded(describe(payload), DESCRIPTION_LIMIT),
        severity=SEVERITIES[payload.severity],
        customer=CustomerDetails(customer_id=customer_id or _bounded(f"events:{payload.source}")),
        channel=Channel.EVENTS_API,
        dedup_key=stored_dedup_key(routing_key, dedup_key),
    )


def describe(payload: EventPayload) -> str:
    facts = {
        "Source": payload.source,
        "Component": payload.component,
        "Group": payload.group,
        "Class": payload.class_,
        "Timestamp": payload.timestamp.isoformat() if payload.timestamp else None,
    }
    lines = [payload.summary, ""]
    lines += [f"{name}: {value}" for name, value in facts.items() if value]
    if payload.custom_details:
        details = json.dumps(payload.custom_details, indent=2, ensure_ascii=False, sort_keys=True)
        lines += ["", "Details:", details]
    return "\n".join(lines)


def resolution_summary(payload: EventPayload | None) -> str:
    said = f": {payload.summary}" if payload else ""
    return _bounded(f"The monitoring system reported it resolved{said}", 2_000)


def _bounded(text: str, limit: int = 200) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
