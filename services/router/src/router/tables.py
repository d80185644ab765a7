"""The router's own schema `router`: agents, assignments (incl. the queue), outbox and inbox."""

from datetime import datetime
from typing import Any

from incident_kit.database import service_metadata
from incident_kit.inbox import inbox_table
from incident_kit.outbox import outbox_table
from sqlalchemy import (
    CheckConstraint,
    Computed,
    DateTime,
    Index,
    Integer,
    SmallInteger,
    Text,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from router.domain import SEVERITY_RANK

metadata = service_metadata("router")

# An incident's place in the queue by severity (domain.SEVERITY_RANK), kept by PostgreSQL in
# a generated column so that the queue index can hold incidents in the order they are served.
# Spelled as PostgreSQL gives it back (casts, ELSE NULL), so that the check of this metadata
# against the migrations (alembic's autogenerate) compares the expression itself.
SEVERITY_RANK_SQL = (
    "CASE severity "
    + " ".join(f"WHEN '{severity}'::text THEN {rank}" for severity, rank in SEVERITY_RANK.items())
    + " ELSE NULL::integer END"
)


class Base(DeclarativeBase):
    metadata = metadata


class AgentRow(Base):
    __tablename__ = "agents"
    __table_args__ = (
        CheckConstraint("tier BETWEEN 1 AND 3", name="tier"),
        CheckConstraint("capacity >= 0", name="capacity"),
        CheckConstraint("active_count >= 0", name="active_count"),
        CheckConstraint("presence IN ('online', 'away', 'offline')", name="presence"),
        # Eligibility (repository.best_eligible) reads online agents by skills and
        # languages through this index, however many agents are registered.
        Index(
            "ix_agents_online_eligibility",
            "skills",
            "languages",
            postgresql_using="gin",
            postgresql_where=text("presence = 'online'"),
        ),
        # The same agents by tier, for an incident that needs no skill: the GIN index has no
        # key to search for it by, and the table holds every agent ever registered.
        Index("ix_agents_online_by_tier", "tier", postgresql_where=text("presence = 'online'")),
    )

    agent_id: Mapped[str] = mapped_column(Text, primary_key=True)
    name: Mapped[str] = mapped_column(Text)
    email: Mapped[str | None] = mapped_column(Text)
    skills: Mapped[dict[str, Any]] = mapped_column(JSONB)
    languages: Mapped[list[str]] = mapped_column(JSONB)
    tier: Mapped[int] = mapped_column(Integer)
    capacity: Mapped[int] = mapped_column(Integer)
    presence: Mapped[str] = mapped_column(Text)
    active_count: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class AssignmentRow(Base):
    """One row per incident the router has seen: assigned, waiting in the queue, or released."""

    __tablename__ = "assignments"
    __table_args__ = (
        CheckConstraint("status IN ('assigned', 'queued', 'released')", name="status"),
        # The queue: only queued rows, in the order they are served (repository._QUEUE_ORDER).
        Index(
            "ix_assignments_queue",
            "severity_rank",
            "queued_at",
            "incident_id",
            postgresql_where=text("status = 'queued'"),
        ),
        Index("ix_assignments_agent", "agent_id", postgresql_where=text("status = 'assigned'")),
    )

    incident_id: Mapped[str] = mapped_column(Text, primary_key=True)
    agent_id: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(Text)
    reason: Mapped[str] = mapped_column(Text)
    severity: Mapped[str] = mapped_column(Text)
    severity_rank: Mapped[int] = mapped_column(
        SmallInteger, Computed(SEVERITY_RANK_SQL, persisted=True)
    )
    language: Mapped[str] = mapped_column(Text)
    required_skills: Mapped[list[str]] = mapped_column(JSONB)
    queued_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    assigned_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    released_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


outbox = outbox_table(metadata)
inbox = inbox_table(metadata)
