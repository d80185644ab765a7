"""The outbox quarantines a row that can never be published, with the error, and the relay holds
the later rows of its incident behind it (incident_kit.migration_tables.add_outbox_quarantine);
an incident keeps when its recorded assignment was made, so an older one replayed later is
ignored.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op
from incident_kit.migration_tables import add_outbox_quarantine, drop_outbox_quarantine

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    add_outbox_quarantine("intake")
    # NULL for assignments recorded before: any assignment may replace those.
    op.add_column(
        "incidents", sa.Column("assigned_at", sa.DateTime(timezone=True)), schema="intake"
    )


def downgrade() -> None:
    op.drop_column("incidents", "assigned_at", schema="intake")
    drop_outbox_quarantine("intake")
