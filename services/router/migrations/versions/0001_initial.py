"""initial: agents, assignments (with the queue index), outbox and inbox of schema router

Revision ID: 0001
Revises:
Create Date: 2026-11-23 09:14:27.311616

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from incident_kit.migration_tables import (
    create_inbox_table,
    create_outbox_table,
    drop_inbox_table,
    drop_outbox_table,
)
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table(
        "agents",
        sa.Column("agent_id", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("email", sa.Text(), nullable=True),
        sa.Column("skills", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("languages", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("tier", sa.Integer(), nullable=False),
        sa.Column("capacity", sa.Integer(), nullable=False),
        sa.Column("presence", sa.Text(), nullable=False),
        sa.Column("active_count", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "presence IN ('online', 'away', 'offline')", name=op.f("ck_agents_presence")
        ),
        sa.CheckConstraint("active_count >= 0", name=op.f("ck_agents_active_count")),
        sa.CheckConstraint("capacity >= 0", name=op.f("ck_agents_capacity")),
        sa.CheckConstraint("tier BETWEEN 1 AND 3", name=op.f("ck_agents_tier")),
        sa.PrimaryKeyConstraint("agent_id", name=op.f("pk_agents")),
        schema="router",
    )
    op.create_table(
        "assignments",
        sa.Column("incident_id", sa.Text(), nullable=False),
        sa.Column("agent_id", sa.Text(), nullable=True),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("severity", sa.Text(), nullable=False),
        sa.Column("language", sa.Text(), nullable=False),
        sa.Column("required_skills", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("queued_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("assigned_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("released_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "status IN ('assigned', 'queued', 'released')", name=op.f("ck_assignments_status")
        ),
        sa.PrimaryKeyConstraint("incident_id", name=op.f("pk_assignments")),
        schema="router",
    )
    op.create_index(
        "ix_assignments_agent",
        "assignments",
        ["agent_id"],
        unique=False,
        schema="router",
        postgresql_where=sa.text("status = 'assigned'"),
    )
    op.create_index(
        "ix_assignments_queue",
        "assignments",
        ["queued_at"],
        unique=False,
        schema="router",
        postgresql_where=sa.text("status = 'queued'"),
    )
    create_inbox_table("router")
    create_outbox_table("router")


def downgrade() -> None:
    """Downgrade schema."""
    drop_outbox_table("router")
    drop_inbox_table("router")
    op.drop_index(
        "ix_assignments_queue",
        table_name="assignments",
        schema="router",
        postgresql_where=sa.text("status = 'queued'"),
    )
    op.drop_index(
        "ix_assignments_agent",
        table_name="assignments",
        schema="router",
        postgresql_where=sa.text("status = 'assigned'"),
    )
    op.drop_table("assignments", schema="router")
    op.drop_table("agents", schema="router")
