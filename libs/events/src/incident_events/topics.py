"""Kafka topic names. Every topic is keyed by incident id so one incident's facts stay ordered."""

from enum import StrEnum


class Topic(StrEnum):
    """The topics the services publish to; the owning service is the only writer."""

    INCIDENTS = "incidents"  # intake
    ASSIGNMENTS = "assignments"  # router
    SLA = "sla"  # sla
    NOTIFICATIONS = "notifications"  # notifier


def dead_letter_topic(topic: str) -> str:
    """Where a consumer of `topic` parks a message it could not process."""
    return f"{topic}.dlq"
