"""The outbox quarantines a row that can never be published, with the error, and the relay holds
the later rows of its incident behind it (incident_kit.migration_tables.add_outbox_quarantine).

Revision ID: 0002
Revises: 0001
"""

from incident_kit.migration_tables import add_outbox_quarantine, drop_outbox_quarantine

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    add_outbox_quarantine("router")


def downgrade() -> None:
    drop_outbox_quarantine("router")
