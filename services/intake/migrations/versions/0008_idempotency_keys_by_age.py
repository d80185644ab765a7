"""Idempotency-Keys get an index on created_at, for pruning those older than the retention
(intake.key_retention).

Built inside the migration's transaction, which holds off reports with a key while it builds.
For a large table, build it beforehand without that pause, under the same name
(`CREATE INDEX CONCURRENTLY ix_idempotency_keys_created_at ON intake.idempotency_keys
(created_at)`); the migration then finds it and leaves it.

Revision ID: 0008
Revises: 0007
"""

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_idempotency_keys_created_at",
        "idempotency_keys",
        ["created_at"],
        schema="intake",
        if_not_exists=True,
    )


def downgrade() -> None:
    op.drop_index("ix_idempotency_keys_created_at", table_name="idempotency_keys", schema="intake")
