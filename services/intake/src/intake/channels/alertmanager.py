"""Prometheus Alertmanager's webhook payload (version 4) and what each alert in it means for
intake: a firing alert is reported as an incident, a resolved one resolves it (pure).

Each alert is its own incident, keyed by the notification's group key and the alert's
fingerprint: `alertmanager:<digest of groupKey>:<fingerprint>`. Alerts of one group resolve one
by one, as Alertmanager reports them, and the same alert routed to two receivers (two groups)
is two incidents, one per team that was told. The group key is digested because it holds the
route's whole label matcher and can be longer than a dedup_key may be.
"""

import hashlib
from datetime import datetime
from typing import Annotated, Literal

from incident_events.types import Channel, Severity
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from intake.domain import CustomerDetails, IncidentReport
from intake.schemas.fields import NoNul

SOURCE = "alertmanager"
TITLE_LIMIT, DESCRIPTION_LIMIT = 200, 20_000
Text = Annotated[str, StringConstraints(max_length=20_000), NoNul]
Name = Annotated[str, StringConstraints(min_length=1, max_length=1_000), NoNul]
# Alertmanager's own notifications, repeated every repeat_interval, must not make new fields
# required of it: unknown fields are ignored rather than refused.
IGNORE_NEW_FIELDS = ConfigDict(extra="ignore", frozen=True)


class Alert(BaseModel):
    model_config = IGNORE_NEW_FIELDS

    status: Literal["firing", "resolved"]
    labels: dict[Name, Text] = Field(max_length=200)
    annotations: dict[Name, Text] = Field(default_factory=dict, max_length=200)
    starts_at: datetime = Field(alias="startsAt")
    ends_at: datetime | None = Field(default=None, alias="endsAt")
    generator_url: Text = Field(default="", alias="generatorURL")
    fingerprint: Annotated[str, Field(pattern=r"^[0-9A-Za-z]{1,64}$")] | None = Field(
        default=None, description="Alertmanager's; older ones without it get a label digest."
    )


class AlertmanagerNotification(BaseModel):
    """One webhook notification: the alerts of one group, firing and resolved."""

    model_config = IGNORE_NEW_FIELDS

    version: Literal["4"]
    group_key: Name = Field(alias="groupKey")
    status: Literal["firing", "resolved"]
    receiver: Name
    alerts: list[Alert] = Field(min_length=1, max_length=1_000)
    group_labels: dict[Name, Text] = Field(default_factory=dict, alias="groupLabels")
    common_labels: dict[Name, Text] = Field(default_factory=dict, alias="commonLabels")
    common_annotations: dict[Name, Text] = Field(default_factory=dict, alias="commonAnnotations")
    external_url: Text = Field(default="", alias="externalURL")
    truncated_alerts: int = Field(default=0, ge=0, alias="truncatedAlerts")


class AlertRules(BaseModel):
    """How alerts become incidents: from settings."""

    model_config = ConfigDict(frozen=True)

    severity_label: str
    severities: dict[str, Severity]
    default_severity: Severity
    customer_label: str


def dedup_key(group_key: str, alert: Alert) -> str:
    digest = hashlib.sha256(group_key.encode()).hexdigest()[:16]
    return f"{SOURCE}:{digest}:{alert.fingerprint or label_digest(alert.labels)}"


def label_digest(labels: dict[str, str]) -> str:
    canonical = "\x00".join(f"{name}={labels[name]}" for name in sorted(labels))
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def severity_of(alert: Alert, rules: AlertRules) -> Severity:
    value = alert.labels.get(rules.severity_label, "").strip().lower()
    return rules.severities.get(value, rules.default_severity)


def alert_name(alert: Alert) -> str:
    return alert.labels.get("alertname", "").strip() or "alert"


def report_of(
    notification: AlertmanagerNotification, alert: Alert, rules: AlertRules
) -> IncidentReport:
    """The incident a firing alert reports, for the customer its label names (else one per
    receiver), with its labels and annotations in the description."""
    customer = alert.labels.get(rules.customer_label) or f"{SOURCE}:{notification.receiver}"
    title = alert.annotations.get("summary") or alert_name(alert)
    return IncidentReport(
        title=_bounded(" ".join(title.split()), TITLE_LIMIT) or alert_name(alert),
        description=_bounded(describe(alert), DESCRIPTION_LIMIT),
        severity=severity_of(alert, rules),
        customer=CustomerDetails(customer_id=_bounded(customer, 200)),
        channel=Channel.ALERTMANAGER,
        dedup_key=dedup_key(notification.group_key, alert),
    )


def describe(alert: Alert) -> str:
    annotations = dict(alert.annotations)
    lines = [annotations.pop("description", "") or annotations.pop("summary", "")]
    lines += [f"{name}: {value}" for name, value in sorted(annotations.items())]
    lines += ["", "Labels:", *(f"  {name}={value}" for name, value in sorted(alert.labels.items()))]
    lines += ["", f"Firing since {alert.starts_at.isoformat()}"]
    if alert.generator_url:
        lines.append(f"Source: {alert.generator_url}")
    return "\n".join(lines).strip()


def resolution_summary(alert: Alert) -> str:
    """What the customer is told: the alert's own words, and when it stopped."""
    said = alert.annotations.get("resolved") or alert.annotations.get("summary") or ""
    ended = f" at {alert.ends_at.isoformat()}" if alert.ends_at else ""
    text = f"The alert {alert_name(alert)} resolved{ended}." + (f" {said}" if said else "")
    return _bounded(text, 2_000)


def _bounded(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
