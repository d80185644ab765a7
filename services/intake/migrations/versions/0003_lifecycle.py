"""lifecycle: the reopened status, kinds enumerated, when an incident's status changed, its
resolution and closing, its first public agent reply, its timeline, and indexes for listing.

Kinds were free text before: a stored kind outside the enumeration becomes `incident` (the
reported event still carries the original text).

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

KINDS = "'incident', 'complaint', 'inquiry', 'service_request', 'billing'"
STATUSES = "'new', 'assigned', 'in_progress', 'waiting_on_customer', 'resolved', 'closed'"
LISTING_INDEXES = {
    "ix_incidents_created_at": ["created_at", "incident_id"],
    "ix_incidents_status": ["status", "created_at", "incident_id"],
    "ix_incidents_assignee": ["assignee_agent_id", "created_at", "incident_id"],
}
TIMES = ("status_changed_at", "resolved_at", "closed_at", "first_agent_reply_at")


def upgrade() -> None:
    op.drop_constraint(op.f("ck_incidents_status"), "incidents", schema="intake", type_="check")
    op.create_check_constraint(
        op.f("ck_incidents_status"),
        "incidents",
        f"status IN ({STATUSES}, 'reopened')",
        schema="intake",
    )
    op.execute(f"UPDATE intake.incidents SET kind = 'incident' WHERE kind NOT IN ({KINDS})")
    op.create_check_constraint(
        op.f("ck_incidents_kind"), "incidents", f"kind IN ({KINDS})", schema="intake"
    )
    for name in TIMES:
        op.add_column("incidents", sa.Column(name, sa.DateTime(timezone=True)), schema="intake")
    op.add_column("incidents", sa.Column("resolution", sa.Text()), schema="intake")
    for name, columns in LISTING_INDEXES.items():
        op.create_index(name, "incidents", columns, schema="intake")
    op.create_table(
        "timeline",
        sa.Column("entry_id", sa.BigInteger(), sa.Identity(always=True), nullable=False),
        sa.Column("incident_id", sa.Text(), nullable=False),
        sa.Column("event_type", sa.Text(), nullable=False),
        sa.Column("public", sa.Boolean(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("data", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.ForeignKeyConstraint(
            ["incident_id"],
            ["intake.incidents.incident_id"],
            name=op.f("fk_timeline_incident_id_incidents"),
        ),
        sa.PrimaryKeyConstraint("entry_id", name=op.f("pk_timeline")),
        schema="intake",
    )
    op.create_index(
        "ix_timeline_incident_id", "timeline", ["incident_id", "entry_id"], schema="intake"
    )


def downgrade() -> None:
    op.drop_index("ix_timeline_incident_id", table_name="timeline", schema="intake")
    op.drop_table("timeline", schema="intake")
    for name in LISTING_INDEXES:
        op.drop_index(name, table_name="incidents", schema="intake")
    for name in (*TIMES, "resolution"):
        op.drop_column("incidents", name, schema="intake")
    op.drop_constraint(op.f("ck_incidents_kind"), "incidents", schema="intake", type_="check")
    op.drop_constraint(op.f("ck_incidents_status"), "incidents", schema="intake", type_="check")
    # Reopened incidents are being worked on again; before 0002 that was in_progress.
    op.execute("UPDATE intake.incidents SET status = 'in_progress' WHERE status = 'reopened'")
    op.create_check_constraint(
        op.f("ck_incidents_status"), "incidents", f"status IN ({STATUSES})", schema="intake"
    )
