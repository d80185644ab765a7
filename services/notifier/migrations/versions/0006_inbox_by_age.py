"""The inbox gets an index on processed_at, for pruning claims older than the retention
(incident_kit.migration_tables.index_inbox_by_age; incident_kit.retention prunes).

Revision ID: 0006
Revises: 0005
"""

from incident_kit.migration_tables import drop_inbox_age_index, index_inbox_by_age

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    index_inbox_by_age("notifier")


def downgrade() -> None:
    drop_inbox_age_index("notifier")
