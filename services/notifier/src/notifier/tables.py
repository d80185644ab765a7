"""The notifier's own schema `notifier`: the incident projection, deliveries, customer
preferences, outbox and inbox."""

from datetime import datetime

from incident_kit.database import service_metadata
from incident_kit.inbox import inbox_table
from incident_kit.outbox import outbox_table
from sqlalchemy import (
    Boolean,
    CheckConstraint,
    DateTime,
    Index,
    Integer,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

metadata = service_metadata("notifier")


class Base(DeclarativeBase):
    metadata = metadata


class IncidentRow(Base):
    """One row per incident; the report and the SLA clock may each arrive first."""

    __tablename__ = "incidents"

    incident_id: Mapped[str] = mapped_column(Text, primary_key=True)
    status_token: Mapped[str] = mapped_column(Text, unique=True)
    reference: Mapped[str | None] = mapped_column(Text)
    title: Mapped[str | None] = mapped_column(Text)
    customer_id: Mapped[str | None] = mapped_column(Text)
    email: Mapped[str | None] = mapped_column(Text)
    name: Mapped[str | None] = mapped_column(Text)
    language: Mapped[str] = mapped_column(Text, server_default=text("'en'"))
    time_zone: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(Text, server_default=text("'new'"))
    # When the status applied last changed: an older change, replayed later, is ignored.
    status_changed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    reported_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    first_response_due_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    first_response_seconds: Mapped[int | None] = mapped_column(Integer)
    acknowledged: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))


class DeliveryRow(Base):
    """One message to one recipient on one channel; the unique key makes sending idempotent."""

    __tablename__ = "deliveries"
    __table_args__ = (
        UniqueConstraint("cause_event_id", "channel", "template", name="uq_deliveries_cause"),
        CheckConstraint("channel IN ('email', 'webhook', 'sms')", name="channel"),
        CheckConstraint("status IN ('pending', 'delivered', 'failed')", name="status"),
        Index("ix_deliveries_due", "next_attempt_at", postgresql_where=text("status = 'pending'")),
    )

    notification_id: Mapped[str] = mapped_column(Text, primary_key=True)
    incident_id: Mapped[str] = mapped_column(Text, index=True)
    cause_event_id: Mapped[str] = mapped_column(Text)
    channel: Mapped[str] = mapped_column(Text)
    template: Mapped[str] = mapped_column(Text)
    language: Mapped[str] = mapped_column(Text)
    recipient: Mapped[str] = mapped_column(Text)
    # Rendered once, so every resend of a notification is the very same message.
    subject: Mapped[str] = mapped_column(Text)
    body: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(Text, server_default=text("'pending'"))
    attempts: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    delivered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # The delivery worker's schedule and claim (a lease, so two replicas never send one message).
    next_attempt_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    lease_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Of the event that caused the message: the facts the worker records continue its flow.
    correlation_id: Mapped[str | None] = mapped_column(Text)
    traceparent: Mapped[str | None] = mapped_column(Text)


class PreferenceRow(Base):
    __tablename__ = "preferences"

    customer_id: Mapped[str] = mapped_column(Text, primary_key=True)
    language: Mapped[str | None] = mapped_column(Text)
    email: Mapped[str | None] = mapped_column(Text)
    channels: Mapped[list[str]] = mapped_column(JSONB)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


outbox = outbox_table(metadata)
inbox = inbox_table(metadata)
