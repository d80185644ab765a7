"""initial: customers, incidents (with the reference sequence and the open dedup_key index),
idempotency keys, outbox and inbox of schema `intake`.

Revision ID: 0001
Revises:
Create Date: 2026-11-23 09:17:06.689529

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
    # Autogenerate does not see sequences: created by hand.
    op.execute(sa.schema.CreateSequence(sa.Sequence("incident_reference_seq", schema="intake")))
    op.create_table(
        "customers",
        sa.Column("customer_id", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=True),
        sa.Column("email", sa.Text(), nullable=True),
        sa.Column("phone", sa.Text(), nullable=True),
        sa.Column("language", sa.Text(), server_default="en", nullable=False),
        sa.Column("tier", sa.Text(), server_default="standard", nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "tier IN ('standard', 'premium', 'enterprise')", name=op.f("ck_customers_tier")
        ),
        sa.PrimaryKeyConstraint("customer_id", name=op.f("pk_customers")),
        schema="intake",
    )
    create_inbox_table("intake")
    create_outbox_table("intake")
    op.create_table(
        "incidents",
        sa.Column("incident_id", sa.Text(), nullable=False),
        sa.Column("reference", sa.Text(), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("severity", sa.Text(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("channel", sa.Text(), nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("customer_id", sa.Text(), nullable=False),
        sa.Column("language", sa.Text(), nullable=False),
        sa.Column("required_skills", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("dedup_key", sa.Text(), nullable=True),
        sa.Column("assignee_agent_id", sa.Text(), nullable=True),
        sa.Column("assignee_name", sa.Text(), nullable=True),
        sa.Column("assignment_reason", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "severity IN ('critical', 'high', 'medium', 'low')", name=op.f("ck_incidents_severity")
        ),
        sa.CheckConstraint(
            "status IN ('new', 'assigned', 'in_progress', 'waiting_on_customer', 'resolved', 'closed')",
            name=op.f("ck_incidents_status"),
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["intake.customers.customer_id"],
            name=op.f("fk_incidents_customer_id_customers"),
        ),
        sa.PrimaryKeyConstraint("incident_id", name=op.f("pk_incidents")),
        sa.UniqueConstraint("reference", name=op.f("uq_incidents_reference")),
        schema="intake",
    )
    op.create_index(
        "ix_incidents_customer_id",
        "incidents",
        ["customer_id", "created_at"],
        unique=False,
        schema="intake",
    )
    op.create_index(
        "uq_incidents_open_dedup_key",
        "incidents",
        ["dedup_key"],
        unique=True,
        schema="intake",
        postgresql_where=sa.text("status NOT IN ('resolved', 'closed')"),
    )
    op.create_table(
        "idempotency_keys",
        sa.Column("key", sa.Text(), nullable=False),
        sa.Column("request_hash", sa.Text(), nullable=False),
        sa.Column("incident_id", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["incident_id"],
            ["intake.incidents.incident_id"],
            name=op.f("fk_idempotency_keys_incident_id_incidents"),
        ),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_idempotency_keys")),
        schema="intake",
    )


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_table("idempotency_keys", schema="intake")
    op.drop_index(
        "uq_incidents_open_dedup_key",
        table_name="incidents",
        schema="intake",
        postgresql_where=sa.text("status NOT IN ('resolved', 'closed')"),
    )
    op.drop_index("ix_incidents_customer_id", table_name="incidents", schema="intake")
    op.drop_table("incidents", schema="intake")
    drop_outbox_table("intake")
    drop_inbox_table("intake")
    op.drop_table("customers", schema="intake")
    op.execute(sa.schema.DropSequence(sa.Sequence("incident_reference_seq", schema="intake")))
