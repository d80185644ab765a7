"""The kit's outbox and inbox tables as Alembic operations, called from every service's migrations.

`create_outbox_table` and `create_inbox_table` are the DDL the tables were first created with
(a service's first migration); each later change is a function of its own, called from a new
revision in every service (`add_outbox_quarantine`). Like any migration step, none of them is
edited once released. The integration test tests/integration/kit/test_migration_tables.py
checks that, applied in order, they describe the tables `incident_kit.outbox.outbox_table` and
`incident_kit.inbox.inbox_table` define.
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


def add_outbox_quarantine(schema: str) -> None:
    """The outbox's second step: a row that can never be published is quarantined with why."""
    op.add_column(
        "outbox",
        sa.Column("quarantined_at", sa.DateTime(timezone=True), nullable=True),
        schema=schema,
    )
    op.add_column("outbox", sa.Column("error", sa.Text(), nullable=True), schema=schema)
    # The relay asks, for each row it claims, whether its incident has a quarantined row.
    op.create_index(
        "ix_outbox_quarantined",
        "outbox",
        ["message_key", "id"],
        unique=False,
        schema=schema,
        postgresql_where=sa.text("quarantined_at IS NOT NULL AND published_at IS NULL"),
    )


def drop_outbox_quarantine(schema: str) -> None:
    op.drop_index(
        "ix_outbox_quarantined",
        table_name="outbox",
        schema=schema,
        postgresql_where=sa.text("quarantined_at IS NOT NULL AND published_at IS NULL"),
    )
    op.drop_column("outbox", "error", schema=schema)
    op.drop_column("outbox", "quarantined_at", schema=schema)


# Marking a row published leaves its entry in the unpublished-rows index until VACUUM removes
# it (the relay's claims do not clear them: measured), and every claim reads them all. With the
# default scale factor autovacuum waits until a fifth of the table, a day of events, is dead;
# with these settings it cleans the outbox at each of its rounds once 1,000 rows changed.
OUTBOX_AUTOVACUUM = {"autovacuum_vacuum_scale_factor": "0", "autovacuum_vacuum_threshold": "1000"}


def vacuum_outbox_often(schema: str) -> None:
    """The outbox's third step: autovacuum keeps its unpublished-rows index small."""
    settings = ", ".join(f"{name} = {value}" for name, value in OUTBOX_AUTOVACUUM.items())
    op.execute(f'ALTER TABLE "{schema}".outbox SET ({settings})')


def vacuum_outbox_by_default(schema: str) -> None:
    op.execute(f'ALTER TABLE "{schema}".outbox RESET ({", ".join(OUTBOX_AUTOVACUUM)})')


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


def index_inbox_by_age(schema: str) -> None:
    """The inbox's second step: an index on processed_at, for pruning claims past the retention.

    Built inside the migration's transaction, which holds off the service's claims while it
    builds. For a large inbox, build it beforehand without that pause, under the same name
    (`CREATE INDEX CONCURRENTLY ix_inbox_processed_at ON <schema>.inbox (processed_at)`); the
    migration then finds it and leaves it.
    """
    op.create_index(
        "ix_inbox_processed_at", "inbox", ["processed_at"], schema=schema, if_not_exists=True
    )


def drop_inbox_age_index(schema: str) -> None:
    op.drop_index("ix_inbox_processed_at", table_name="inbox", schema=schema)
