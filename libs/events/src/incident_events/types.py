"""Shared field types of event payloads: UTC timestamps and the enumerations services agree on."""

from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated

from pydantic import AfterValidator, AwareDatetime


def _as_utc(value: datetime) -> datetime:
    return value.astimezone(UTC)


# Every timestamp on the wire is timezone-aware and normalised to UTC.
UtcDatetime = Annotated[AwareDatetime, AfterValidator(_as_utc)]


class Severity(StrEnum):
    CRITICAL = "critical"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"


class Channel(StrEnum):
    API = "api"
    ALERTMANAGER = "alertmanager"
    EVENTS_API = "events_api"
    EMAIL = "email"
    WEB = "web"
    PHONE = "phone"
    FAX = "fax"


class IncidentStatus(StrEnum):
    NEW = "new"
    ASSIGNED = "assigned"
    IN_PROGRESS = "in_progress"
    WAITING_ON_CUSTOMER = "waiting_on_customer"
    RESOLVED = "resolved"
    REOPENED = "reopened"
    CLOSED = "closed"


class IncidentKind(StrEnum):
    """What a report is about; SLA policies and routing may key on it."""

    INCIDENT = "incident"
    COMPLAINT = "complaint"
    INQUIRY = "inquiry"
    SERVICE_REQUEST = "service_request"
    BILLING = "billing"


class AuthorKind(StrEnum):
    """Who wrote a comment."""

    AGENT = "agent"
    CUSTOMER = "customer"
    SYSTEM = "system"


class CustomerTier(StrEnum):
    STANDARD = "standard"
    PREMIUM = "premium"
    ENTERPRISE = "enterprise"


class Visibility(StrEnum):
    PUBLIC = "public"
    INTERNAL = "internal"


class SlaMetric(StrEnum):
    FIRST_RESPONSE = "first_response"
    UPDATE = "update"
    RESOLUTION = "resolution"


class DeliveryChannel(StrEnum):
    EMAIL = "email"
    WEBHOOK = "webhook"
    SMS = "sms"
