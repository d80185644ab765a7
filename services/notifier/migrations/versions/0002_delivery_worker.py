"""Deliveries are sent by a worker: when the next attempt is due, a lease against a second
sender, and the cause's correlation and trace for the facts the worker records.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    for name in ("next_attempt_at", "lease_until"):
        op.add_column("deliveries", sa.Column(name, sa.DateTime(timezone=True)), schema="notifier")
    for name in ("correlation_id", "traceparent"):
        op.add_column("deliveries", sa.Column(name, sa.Text()), schema="notifier")
    op.execute("UPDATE notifier.deliveries SET next_attempt_at = created_at")
    op.create_index(
        "ix_deliveries_due",
        "deliveries",
        ["next_attempt_at"],
        schema="notifier",
        postgresql_where=sa.text("status = 'pending'"),
    )


def downgrade() -> None:
    op.drop_index("ix_deliveries_due", table_name="deliveries", schema="notifier")
    for name in ("next_attempt_at", "lease_until", "correlation_id", "traceparent"):
        op.drop_column("deliveries", name, schema="notifier")
