"""The notifier's pure decisions: the incident projection it keeps, when a customer is owed an
acknowledgement, an apology or the news of a resolution, and what that message says. No I/O, no
clock, no database."""

from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any
from uuid import UUID, uuid5

from incident_events.incidents import IncidentReported, IncidentResolved
from incident_events.sla import SlaBreached, SlaClockStarted
from incident_events.types import DeliveryChannel, SlaMetric

from notifier.localization import format_due, format_window, supported_language

ACKNOWLEDGEMENT = "acknowledgement"
BREACH_APOLOGY = "breach_apology"
RESOLUTION = "resolution"
# Fixed, so a notification id is the same whichever replica or retry computes it.
_NOTIFICATION_NAMESPACE = UUID("6f1c2d0e-7a4b-4c55-9a0e-2b8f0c3d9e41")


@dataclass(frozen=True)
class Preferences:
    """What a customer told us about how to reach them; None means "as the report says"."""

    language: str | None = None
    email: str | None = None
    channels: frozenset[str] = frozenset({DeliveryChannel.EMAIL.value})


@dataclass(frozen=True)
class IncidentView:
    """What the notifier knows of one incident; filled from two topics in either order."""

    incident_id: str
    status_token: str
    reference: str | None = None
    title: str | None = None
    customer_id: str | None = None
    email: str | None = None
    name: str | None = None
    language: str = "en"
    time_zone: str | None = None  # the customer's IANA time zone, when the report named one
    status: str = "new"
    reported_at: datetime | None = None
    first_response_due_at: datetime | None = None
    first_response_seconds: int | None = None
    acknowledged: bool = False


@dataclass(frozen=True)
class PlannedMessage:
    """A message decided on but not yet rendered or sent."""

    notification_id: str
    incident_id: str
    cause_event_id: str
    channel: DeliveryChannel
    template: str
    recipient: str
    language: str
    context: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Delivery:
    """A rendered message as stored: what is sent, to whom, and how far it got."""

    notification_id: str
    incident_id: str
    cause_event_id: str
    channel: DeliveryChannel
    template: str
    language: str
    recipient: str
    subject: str
    body: str
    status: str
    attempts: int
    created_at: datetime
    correlation_id: str | None = None
    traceparent: str | None = None


def notification_id_for(cause_event_id: str, channel: str, template: str) -> str:
    """Deterministic, so a resend of the same message carries the same id (and Message-ID)."""
    return str(uuid5(_NOTIFICATION_NAMESPACE, f"{cause_event_id}/{channel}/{template}"))


def record_report(view: IncidentView, reported: IncidentReported) -> IncidentView:
    """The projection after `incident.reported`: who to tell, in which language, about what."""
    return replace(view, **report_fields(reported))


def report_fields(reported: IncidentReported) -> dict[str, Any]:
    """The fields of the projection `incident.reported` sets, whatever they held before."""
    customer = reported.customer
    return {
        "reference": reported.reference,
        "title": reported.title,
        "customer_id": customer.customer_id,
        "email": customer.email,
        "name": customer.name,
        "language": supported_language(customer.language),
        "time_zone": customer.time_zone,
        "reported_at": reported.reported_at,
    }


def customer_language(view: IncidentView, preferences: Preferences | None) -> str:
    """The language the customer asked for in their preferences, else the one of the report."""
    preferred = preferences.language if preferences else None
    return supported_language(preferred or view.language)


def acknowledgement_awaits(started: SlaClockStarted) -> bool:
    """Only the first-response clock matters to the acknowledgement; the others change
    nothing here, so their events need not even lock the incident."""
    return started.metric == SlaMetric.FIRST_RESPONSE


def record_clock_started(view: IncidentView, started: SlaClockStarted) -> IncidentView:
    return replace(view, **clock_fields(started))


def clock_fields(started: SlaClockStarted) -> dict[str, Any]:
    """The fields of the projection a clock's start sets, whatever they held before: the agreed
    response time, from the first-response clock only."""
    if not acknowledgement_awaits(started):
        return {}
    return {
        "first_response_due_at": started.due_at,
        "first_response_seconds": started.target_seconds,
    }


def plan_acknowledgement(
    view: IncidentView, *, cause_event_id: str, status_url: str, preferences: Preferences | None
) -> tuple[IncidentView, PlannedMessage | None]:
    """Acknowledge once both the report and the agreed response time are known."""
    due, seconds = view.first_response_due_at, view.first_response_seconds
    if view.acknowledged or view.reference is None or due is None or seconds is None:
        return view, None
    acknowledged = replace(view, acknowledged=True)
    recipient = _email_recipient(view, preferences)
    if recipient is None:
        return acknowledged, None
    language = customer_language(view, preferences)
    context = _common_context(view, status_url) | {
        "response_window": format_window(seconds, language),
        "response_due": format_due(due, language, view.time_zone),
    }
    message = _email(view, recipient, language, ACKNOWLEDGEMENT, cause_event_id, context)
    return acknowledged, message


def plan_breach_apology(
    view: IncidentView,
    breached: SlaBreached,
    *,
    cause_event_id: str,
    status_url: str,
    preferences: Preferences | None,
) -> PlannedMessage | None:
    """Apologise when the first response was late; other breaches have their own flows."""
    if breached.metric != SlaMetric.FIRST_RESPONSE or view.reference is None:
        return None
    recipient = _email_recipient(view, preferences)
    if recipient is None:
        return None
    language = customer_language(view, preferences)
    context = _common_context(view, status_url) | {
        "response_due": format_due(breached.due_at, language, view.time_zone),
    }
    return _email(view, recipient, language, BREACH_APOLOGY, cause_event_id, context)


def plan_resolution(
    view: IncidentView,
    resolved: IncidentResolved,
    *,
    cause_event_id: str,
    status_url: str,
    preferences: Preferences | None,
) -> PlannedMessage | None:
    """Tell the customer what was done, each time the incident is resolved (a reopened one is
    resolved again with its own summary)."""
    if view.reference is None:
        return None
    recipient = _email_recipient(view, preferences)
    if recipient is None:
        return None
    language = customer_language(view, preferences)
    context = _common_context(view, status_url) | {"resolution": resolved.resolution}
    return _email(view, recipient, language, RESOLUTION, cause_event_id, context)


def _email_recipient(view: IncidentView, preferences: Preferences | None) -> str | None:
    """Where e-mail goes, or None when there is no address or the customer opted out."""
    preferred = preferences or Preferences()
    if DeliveryChannel.EMAIL.value not in preferred.channels:
        return None
    return preferred.email or view.email


def _common_context(view: IncidentView, status_url: str) -> dict[str, Any]:
    return {
        "reference": view.reference,
        "title": view.title,
        "name": view.name,
        "status_url": status_url,
    }


def _email(
    view: IncidentView,
    recipient: str,
    language: str,
    template: str,
    cause_event_id: str,
    context: dict[str, Any],
) -> PlannedMessage:
    channel = DeliveryChannel.EMAIL
    return PlannedMessage(
        notification_id=notification_id_for(cause_event_id, channel.value, template),
        incident_id=view.incident_id,
        cause_event_id=cause_event_id,
        channel=channel,
        template=template,
        recipient=recipient,
        language=language,
        context=context,
    )
