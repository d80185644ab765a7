"""The kit's outbox and inbox tables as Alembic operations, for a service's first migration.

This is the DDL the tables were first created with, and like any migration it stays as it is:
a later change to `incident_kit.outbox.outbox_table` or `incident_kit.inbox.inbox_table` needs
a new migration step in every service, not an edit here. The integration test
tests/integration/kit/test_migration_tables.py checks that both still describe the same tables.
"""

import sqlalchemy as sa
from alembic import op

# Constraint names are written out as incident_kit.database.NAMING gives them; op.f marks them
# as final, so the naming convention of the service's metadata does not convert them again.


def create_outbox_table(schema: str) -> None:
    op.create_table(
        "outbox",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("event_id", sa.UUID(), nullable=False),
        sa.Column("topic", sa.Text(), nullable=False),
        sa.Column("message_key", sa.Text(), nullable=False),
        sa.Column("event_type", sa.Text(), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox")),
        sa.UniqueConstraint("event_id", name=op.f("uq_outbox_event_id")),
        schema=schema,
    )
    # The relay's claim query reads only unpublished rows, in id order.
    op.create_index(
        "ix_outbox_unpublished",
        "outbox",
        ["id"],
        unique=False,
        schema=schema,
        postgresql_where=sa.text("published_at IS NULL"),
    )


def drop_outbox_table(schema: str) -> None:
    op.drop_index(
        "ix_outbox_unpublished",
        table_name="outbox",
        schema=schema,
        postgresql_where=sa.text("published_at IS NULL"),
    )
    op.drop_table("outbox", schema=schema)


def create_inbox_table(schema: str) -> None:
    op.create_table(
        "inbox",
        sa.Column("consumer", sa.Text(), nullable=False),
        sa.Column("event_id", sa.UUID(), nullable=False),
        sa.Column("event_type", sa.Text(), nullable=False),
        sa.Column(
            "processed_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("consumer", "event_id", name=op.f("pk_inbox")),
        schema=schema,
    )


def drop_inbox_table(schema: str) -> None:
    op.drop_table("inbox", schema=schema)
