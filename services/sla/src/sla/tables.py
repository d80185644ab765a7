"""The sla service's own schema `sla`: policies, clocks, the incidents they belong to, outbox
and inbox."""

from datetime import datetime

from incident_kit.database import service_metadata
from incident_kit.inbox import inbox_table
from incident_kit.outbox import outbox_table
from sqlalchemy import CheckConstraint, DateTime, Index, Integer, Text, UniqueConstraint, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

metadata = service_metadata("sla")


class Base(DeclarativeBase):
    metadata = metadata


class PolicyRow(Base):
    __tablename__ = "policies"

    policy_id: Mapped[str] = mapped_column(Text, primary_key=True)
    name: Mapped[str] = mapped_column(Text)
    priority: Mapped[int] = mapped_column(Integer)
    match_tiers: Mapped[list[str]] = mapped_column(JSONB)
    match_severities: Mapped[list[str]] = mapped_column(JSONB)
    match_kinds: Mapped[list[str]] = mapped_column(JSONB)
    first_response_seconds: Mapped[int] = mapped_column(Integer)
    update_interval_seconds: Mapped[int | None] = mapped_column(Integer)
    resolution_seconds: Mapped[int] = mapped_column(Integer)
    warn_at_percent: Mapped[list[int]] = mapped_column(JSONB)
    calendar: Mapped[str] = mapped_column(Text, server_default=text("'24x7'"))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class ClockRow(Base):
    __tablename__ = "clocks"
    __table_args__ = (
        UniqueConstraint("incident_id", "metric"),
        CheckConstraint("metric IN ('first_response', 'resolution')", name="metric"),
        CheckConstraint("status IN ('running', 'met', 'breached')", name="status"),
        # Running clocks by time to breach, for the control-center board (not built yet).
        Index("ix_clocks_running_due", "due_at", postgresql_where=text("status = 'running'")),
        # The timer's one query: running clocks whose next warning or due moment has come.
        Index(
            "ix_clocks_running_next_fire",
            "next_fire_at",
            postgresql_where=text("status = 'running'"),
        ),
    )

    clock_id: Mapped[str] = mapped_column(Text, primary_key=True)
    incident_id: Mapped[str] = mapped_column(Text)
    metric: Mapped[str] = mapped_column(Text)
    policy_id: Mapped[str] = mapped_column(Text)
    calendar: Mapped[str] = mapped_column(Text)
    target_seconds: Mapped[int] = mapped_column(Integer)
    warn_at_percent: Mapped[list[int]] = mapped_column(JSONB)
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    due_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    status: Mapped[str] = mapped_column(Text)
    warned_percents: Mapped[list[int]] = mapped_column(JSONB)
    next_fire_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    stopped_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    correlation_id: Mapped[str | None] = mapped_column(Text)


class IncidentRow(Base):
    """What sla knows of an incident; an assignment may arrive before the report (two topics),
    so everything but the id is optional."""

    __tablename__ = "incidents"

    incident_id: Mapped[str] = mapped_column(Text, primary_key=True)
    customer_id: Mapped[str | None] = mapped_column(Text)
    tier: Mapped[str | None] = mapped_column(Text)
    severity: Mapped[str | None] = mapped_column(Text)
    kind: Mapped[str | None] = mapped_column(Text)
    assignee_agent_id: Mapped[str | None] = mapped_column(Text)


outbox = outbox_table(metadata)
inbox = inbox_table(metadata)
