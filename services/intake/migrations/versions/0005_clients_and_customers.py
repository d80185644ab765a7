"""clients and customers: the API's clients and their hashed keys; Idempotency-Keys and
dedup_keys scoped to the client that sent them; customers' identities (external ids, e-mail
addresses, phone numbers), possible duplicates, time zone and creating client.

What was stored before belongs to the built-in client `env` (the keys of API_KEYS). Existing
customers get their identities, the oldest customer winning an identity two of them share.
Downgrading fails if two clients hold the same Idempotency-Key or open dedup_key by then.

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

OPEN = "status NOT IN ('resolved', 'closed')"
NOW = sa.DateTime(timezone=True)


def upgrade() -> None:
    _client_tables()
    _client_scoped_keys()
    op.add_column("customers", sa.Column("time_zone", sa.Text()), schema="intake")
    op.add_column("customers", sa.Column("created_by_client", sa.Text()), schema="intake")
    _identities()


def _client_tables() -> None:
    op.create_table(
        "api_clients",
        sa.Column("client_id", sa.Text(), nullable=False),
        sa.Column("created_at", NOW, nullable=False),
        sa.PrimaryKeyConstraint("client_id", name=op.f("pk_api_clients")),
        schema="intake",
    )
    op.create_table(
        "api_keys",
        sa.Column("key_id", sa.Text(), nullable=False),
        sa.Column("client_id", sa.Text(), nullable=False),
        sa.Column("key_digest", sa.Text(), nullable=False),
        sa.Column("scopes", postgresql.ARRAY(sa.Text()), nullable=False),
        sa.Column("created_at", NOW, nullable=False),
        sa.Column("revoked_at", NOW, nullable=True),
        sa.CheckConstraint(
            "cardinality(scopes) > 0 AND scopes <@ ARRAY['report', 'agent', 'admin']",
            name=op.f("ck_api_keys_scopes"),
        ),
        sa.ForeignKeyConstraint(
            ["client_id"],
            ["intake.api_clients.client_id"],
            name=op.f("fk_api_keys_client_id_api_clients"),
        ),
        sa.PrimaryKeyConstraint("key_id", name=op.f("pk_api_keys")),
        schema="intake",
    )
    op.create_index("ix_api_keys_client_id", "api_keys", ["client_id"], schema="intake")


def _client_scoped_keys() -> None:
    for table in ("incidents", "idempotency_keys"):
        op.add_column(
            table,
            sa.Column("client_id", sa.Text(), nullable=False, server_default="env"),
            schema="intake",
        )
        op.alter_column(table, "client_id", server_default=None, schema="intake")
    op.drop_index("uq_incidents_open_dedup_key", table_name="incidents", schema="intake")
    op.create_index(
        "uq_incidents_open_dedup_key",
        "incidents",
        ["client_id", "dedup_key"],
        unique=True,
        schema="intake",
        postgresql_where=sa.text(OPEN),
    )
    op.drop_constraint(op.f("pk_idempotency_keys"), "idempotency_keys", schema="intake")
    op.create_primary_key(
        op.f("pk_idempotency_keys"), "idempotency_keys", ["client_id", "key"], schema="intake"
    )


def _identities() -> None:
    op.create_table(
        "customer_identities",
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("customer_id", sa.Text(), nullable=False),
        sa.Column("created_at", NOW, nullable=False),
        sa.CheckConstraint(
            "kind IN ('external', 'email', 'phone')", name=op.f("ck_customer_identities_kind")
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["intake.customers.customer_id"],
            name=op.f("fk_customer_identities_customer_id_customers"),
        ),
        sa.PrimaryKeyConstraint("kind", "value", name=op.f("pk_customer_identities")),
        schema="intake",
    )
    op.create_index(
        "ix_customer_identities_customer_id",
        "customer_identities",
        ["customer_id"],
        schema="intake",
    )
    op.create_table(
        "customer_duplicates",
        sa.Column("customer_id", sa.Text(), nullable=False),
        sa.Column("other_customer_id", sa.Text(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("recorded_at", NOW, nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["intake.customers.customer_id"],
            name=op.f("fk_customer_duplicates_customer_id_customers"),
        ),
        sa.ForeignKeyConstraint(
            ["other_customer_id"],
            ["intake.customers.customer_id"],
            name=op.f("fk_customer_duplicates_other_customer_id_customers"),
        ),
        sa.PrimaryKeyConstraint(
            "customer_id", "other_customer_id", "kind", "value", name=op.f("pk_customer_duplicates")
        ),
        schema="intake",
    )
    # Normalized as domain.customers does; rows inserted oldest first, so the oldest customer
    # keeps an identity two share (ON CONFLICT skips the later ones).
    op.execute(
        """
        INSERT INTO intake.customer_identities (kind, value, customer_id, created_at)
        SELECT kind, value, customer_id, created_at FROM (
            SELECT 'external' AS kind, customer_id AS value, customer_id, created_at, 0 AS rank
            FROM intake.customers
            UNION ALL
            SELECT 'email', lower(btrim(email)), customer_id, created_at, 1
            FROM intake.customers WHERE email IS NOT NULL
            UNION ALL
            SELECT 'phone', regexp_replace(phone, '[^0-9+]', '', 'g'), customer_id, created_at, 2
            FROM intake.customers WHERE regexp_replace(phone, '[^0-9+]', '', 'g') <> ''
        ) identities
        ORDER BY created_at, customer_id, rank
        ON CONFLICT DO NOTHING
        """
    )


def downgrade() -> None:
    op.drop_table("customer_duplicates", schema="intake")
    op.drop_index(
        "ix_customer_identities_customer_id", table_name="customer_identities", schema="intake"
    )
    op.drop_table("customer_identities", schema="intake")
    op.drop_column("customers", "created_by_client", schema="intake")
    op.drop_column("customers", "time_zone", schema="intake")
    op.drop_constraint(op.f("pk_idempotency_keys"), "idempotency_keys", schema="intake")
    op.create_primary_key(op.f("pk_idempotency_keys"), "idempotency_keys", ["key"], schema="intake")
    op.drop_index("uq_incidents_open_dedup_key", table_name="incidents", schema="intake")
    op.create_index(
        "uq_incidents_open_dedup_key",
        "incidents",
        ["dedup_key"],
        unique=True,
        schema="intake",
        postgresql_where=sa.text(OPEN),
    )
    for table in ("incidents", "idempotency_keys"):
        op.drop_column(table, "client_id", schema="intake")
    op.drop_index("ix_api_keys_client_id", table_name="api_keys", schema="intake")
    op.drop_table("api_keys", schema="intake")
    op.drop_table("api_clients", schema="intake")
