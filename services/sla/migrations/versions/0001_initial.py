"""The sla schema: policies, clocks, the incidents they belong to, outbox and inbox.

Revision ID: 0001
Revises:
Create Date: 2026-11-23 09:15:39.469926

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
        "clocks",
        sa.Column("clock_id", sa.Text(), nullable=False),
        sa.Column("incident_id", sa.Text(), nullable=False),
        sa.Column("metric", sa.Text(), nullable=False),
        sa.Column("policy_id", sa.Text(), nullable=False),
        sa.Column("calendar", sa.Text(), nullable=False),
        sa.Column("target_seconds", sa.Integer(), nullable=False),
        sa.Column("warn_at_percent", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("warned_percents", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("next_fire_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("stopped_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("correlation_id", sa.Text(), nullable=True),
        sa.CheckConstraint(
            "metric IN ('first_response', 'resolution')", name=op.f("ck_clocks_metric")
        ),
        sa.CheckConstraint(
            "status IN ('running', 'met', 'breached')", name=op.f("ck_clocks_status")
        ),
        sa.PrimaryKeyConstraint("clock_id", name=op.f("pk_clocks")),
        sa.UniqueConstraint("incident_id", "metric", name=op.f("uq_clocks_incident_id")),
        schema="sla",
    )
    op.create_index(
        "ix_clocks_running_due",
        "clocks",
        ["due_at"],
        unique=False,
        schema="sla",
        postgresql_where=sa.text("status = 'running'"),
    )
    op.create_index(
        "ix_clocks_running_next_fire",
        "clocks",
        ["next_fire_at"],
        unique=False,
        schema="sla",
        postgresql_where=sa.text("status = 'running'"),
    )
    create_inbox_table("sla")
    op.create_table(
        "incidents",
        sa.Column("incident_id", sa.Text(), nullable=False),
        sa.Column("customer_id", sa.Text(), nullable=True),
        sa.Column("tier", sa.Text(), nullable=True),
        sa.Column("severity", sa.Text(), nullable=True),
        sa.Column("kind", sa.Text(), nullable=True),
        sa.Column("assignee_agent_id", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("incident_id", name=op.f("pk_incidents")),
        schema="sla",
    )
    create_outbox_table("sla")
    op.create_table(
        "policies",
        sa.Column("policy_id", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("match_tiers", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("match_severities", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("match_kinds", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("first_response_seconds", sa.Integer(), nullable=False),
        sa.Column("update_interval_seconds", sa.Integer(), nullable=True),
        sa.Column("resolution_seconds", sa.Integer(), nullable=False),
        sa.Column("warn_at_percent", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("calendar", sa.Text(), server_default=sa.text("'24x7'"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("policy_id", name=op.f("pk_policies")),
        schema="sla",
    )


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_table("policies", schema="sla")
    drop_outbox_table("sla")
    op.drop_table("incidents", schema="sla")
    drop_inbox_table("sla")
    op.drop_index(
        "ix_clocks_running_next_fire",
        table_name="clocks",
        schema="sla",
        postgresql_where=sa.text("status = 'running'"),
    )
    op.drop_index(
        "ix_clocks_running_due",
        table_name="clocks",
        schema="sla",
        postgresql_where=sa.text("status = 'running'"),
    )
    op.drop_table("clocks", schema="sla")
