"""The outbox quarantines a row that can never be published, with the error, and the relay holds
the later rows of its incident behind it (incident_kit.migration_tables.add_outbox_quarantine);
the incident projection keeps when its status last changed, so an older change replayed later
is ignored.

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op
from incident_kit.migration_tables import add_outbox_quarantine, drop_outbox_quarantine

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    add_outbox_quarantine("notifier")
    # NULL for statuses set before: any change may replace those.
    op.add_column(
        "incidents", sa.Column("status_changed_at", sa.DateTime(timezone=True)), schema="notifier"
    )


def downgrade() -> None:
    op.drop_column("incidents", "status_changed_at", schema="notifier")
    drop_outbox_quarantine("notifier")
