"""Intake's own schema `intake`: customers with their identities, incidents and their
timelines, idempotency keys, the API's clients and their keys, outbox and inbox."""

from datetime import datetime
from typing import Any

from incident_kit.database import service_metadata
from incident_kit.inbox import inbox_table
from incident_kit.outbox import outbox_table
from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Identity,
    Index,
    PrimaryKeyConstraint,
    Sequence,
    Text,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

metadata = service_metadata("intake")

# Numbers the human-readable references (INC-000042); gaps after rollbacks are harmless.
reference_numbers = Sequence("incident_reference_seq", metadata=metadata)

# Must match the predicate of ON CONFLICT in repository.insert_incidents, so it infers the index.
OPEN_INCIDENT = text("status NOT IN ('resolved', 'closed')")


class Base(DeclarativeBase):
    metadata = metadata


class CustomerRow(Base):
    __tablename__ = "customers"
    __table_args__ = (
        CheckConstraint("tier IN ('standard', 'premium', 'enterprise')", name="tier"),
    )

    customer_id: Mapped[str] = mapped_column(Text, primary_key=True)
    name: Mapped[str | None] = mapped_column(Text)
    email: Mapped[str | None] = mapped_column(Text)
    phone: Mapped[str | None] = mapped_column(Text)
    language: Mapped[str] = mapped_column(Text, server_default="en")
    tier: Mapped[str] = mapped_column(Text, server_default="standard")
    time_zone: Mapped[str | None] = mapped_column(Text)  # IANA name, validated on the way in
    # The client whose report created it (None: stored before clients); others only fill gaps.
    created_by_client: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class CustomerIdentityRow(Base):
    """An external id, e-mail address or phone number (normalized), and the one customer it
    belongs to: reports naming it attach to that customer (domain.customers)."""

    __tablename__ = "customer_identities"
    __table_args__ = (
        PrimaryKeyConstraint("kind", "value"),
        CheckConstraint("kind IN ('external', 'email', 'phone')", name="kind"),
        Index("ix_customer_identities_customer_id", "customer_id"),
    )

    kind: Mapped[str] = mapped_column(Text)
    value: Mapped[str] = mapped_column(Text)
    customer_id: Mapped[str] = mapped_column(ForeignKey(CustomerRow.customer_id))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class CustomerDuplicateRow(Base):
    """Two customers a report named at once (an identity of each): possibly one person, for an
    admin to look at. Kept once per pair and identity."""

    __tablename__ = "customer_duplicates"
    __table_args__ = (PrimaryKeyConstraint("customer_id", "other_customer_id", "kind", "value"),)

    customer_id: Mapped[str] = mapped_column(ForeignKey(CustomerRow.customer_id))
    other_customer_id: Mapped[str] = mapped_column(ForeignKey(CustomerRow.customer_id))
    kind: Mapped[str] = mapped_column(Text)
    value: Mapped[str] = mapped_column(Text)
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class IncidentRow(Base):
    __tablename__ = "incidents"
    __table_args__ = (
        CheckConstraint("severity IN ('critical', 'high', 'medium', 'low')", name="severity"),
        CheckConstraint(
            "status IN ('new', 'assigned', 'in_progress', 'waiting_on_customer', 'resolved',"
            " 'reopened', 'closed')",
            name="status",
        ),
        CheckConstraint(
            "kind IN ('incident', 'complaint', 'inquiry', 'service_request', 'billing')",
            name="kind",
        ),
        # At most one open incident per client and dedup_key: concurrent duplicates collide here.
        Index(
            "uq_incidents_open_dedup_key",
            "client_id",
            "dedup_key",
            unique=True,
            postgresql_where=OPEN_INCIDENT,
        ),
        Index("ix_incidents_customer_id", "customer_id", "created_at"),
        # Listing pages run newest first, by (created_at, incident_id), optionally per filter.
        Index("ix_incidents_created_at", "created_at", "incident_id"),
        Index("ix_incidents_status", "status", "created_at", "incident_id"),
        Index("ix_incidents_assignee", "assignee_agent_id", "created_at", "incident_id"),
    )

    incident_id: Mapped[str] = mapped_column(Text, primary_key=True)
    reference: Mapped[str] = mapped_column(Text, unique=True)
    title: Mapped[str] = mapped_column(Text)
    description: Mapped[str] = mapped_column(Text)
    severity: Mapped[str] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(Text)
    channel: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(Text)
    customer_id: Mapped[str] = mapped_column(ForeignKey(CustomerRow.customer_id))
    language: Mapped[str] = mapped_column(Text)
    required_skills: Mapped[list[str]] = mapped_column(JSONB)
    dedup_key: Mapped[str | None] = mapped_column(Text)
    # The client that reported it (not a foreign key: `env` is no row); dedup_keys are its own.
    client_id: Mapped[str] = mapped_column(Text)
    assignee_agent_id: Mapped[str | None] = mapped_column(Text)
    assignee_name: Mapped[str | None] = mapped_column(Text)
    assignment_reason: Mapped[str | None] = mapped_column(Text)
    # When the router made the recorded assignment: an older one, replayed later, is ignored.
    assigned_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    status_changed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    resolution: Mapped[str | None] = mapped_column(Text)
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    first_agent_reply_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    logged_by: Mapped[str | None] = mapped_column(Text)


class TimelineRow(Base):
    """The facts of an incident's life after its report, in the order they happened, as their
    event payloads; `public` ones make the timeline its customer may see."""

    __tablename__ = "timeline"
    __table_args__ = (Index("ix_timeline_incident_id", "incident_id", "entry_id"),)

    entry_id: Mapped[int] = mapped_column(BigInteger, Identity(always=True), primary_key=True)
    incident_id: Mapped[str] = mapped_column(ForeignKey(IncidentRow.incident_id))
    event_type: Mapped[str] = mapped_column(Text)
    public: Mapped[bool] = mapped_column(Boolean)
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    data: Mapped[dict[str, Any]] = mapped_column(JSONB)


class IdempotencyKeyRow(Base):
    """A client's Idempotency-Key, the digest of the request it came with, and its incident.
    Keys are the client's own: two clients may send the same one."""

    __tablename__ = "idempotency_keys"
    # The retention's pruning finds the old keys here (incident_kit.retention).
    __table_args__ = (Index("ix_idempotency_keys_created_at", "created_at"),)

    client_id: Mapped[str] = mapped_column(Text, primary_key=True)
    key: Mapped[str] = mapped_column(Text, primary_key=True)
    request_hash: Mapped[str] = mapped_column(Text)
    incident_id: Mapped[str | None] = mapped_column(ForeignKey(IncidentRow.incident_id))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class ApiClientRow(Base):
    """A client system of the API (a shop, a monitoring system, a helpdesk). Its id is the name
    it was created with (`keys create --client NAME`), and what its incidents record."""

    __tablename__ = "api_clients"

    client_id: Mapped[str] = mapped_column(Text, primary_key=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class ApiKeyRow(Base):
    """One API key of a client: only its SHA-256 digest is kept (intake.api_keys)."""

    __tablename__ = "api_keys"
    __table_args__ = (
        CheckConstraint(
            "cardinality(scopes) > 0 AND scopes <@ ARRAY['report', 'agent', 'admin']",
            name="scopes",
        ),
        Index("ix_api_keys_client_id", "client_id"),
    )

    key_id: Mapped[str] = mapped_column(Text, primary_key=True)
    client_id: Mapped[str] = mapped_column(ForeignKey(ApiClientRow.client_id))
    key_digest: Mapped[str] = mapped_column(Text)
    scopes: Mapped[list[str]] = mapped_column(ARRAY(Text))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


outbox = outbox_table(metadata)
inbox = inbox_table(metadata)
