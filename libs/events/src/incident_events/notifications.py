"""Facts notifier publishes: deliveries made or failed, and survey answers."""

from typing import ClassVar

from pydantic import Field

from incident_events.envelope import EventData
from incident_events.topics import Topic
from incident_events.types import DeliveryChannel, UtcDatetime


class NotificationDelivered(EventData):
    event_type: ClassVar[str] = "notification.delivered.v1"
    topic: ClassVar[Topic] = Topic.NOTIFICATIONS

    notification_id: str
    channel: DeliveryChannel
    template: str
    recipient: str
    language: str
    cause_event_id: str
    delivered_at: UtcDatetime


class NotificationFailed(EventData):
    event_type: ClassVar[str] = "notification.failed.v1"
    topic: ClassVar[Topic] = Topic.NOTIFICATIONS

    notification_id: str
    channel: DeliveryChannel
    template: str
    recipient: str
    cause_event_id: str
    error: str
    attempts: int = Field(ge=1)
    failed_at: UtcDatetime


class SurveyAnswered(EventData):
    event_type: ClassVar[str] = "survey.answered.v1"
    topic: ClassVar[Topic] = Topic.NOTIFICATIONS

    customer_id: str
    score: int = Field(ge=1, le=5)
    comment: str = ""
    answered_at: UtcDatetime
