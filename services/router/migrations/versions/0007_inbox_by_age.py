"""The inbox gets an index on processed_at, for pruning claims older than the retention
(incident_kit.migration_tables.index_inbox_by_age; incident_kit.retention prunes).

Revision ID: 0007
Revises: 0006
"""

from incident_kit.migration_tables import drop_inbox_age_index, index_inbox_by_age

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    index_inbox_by_age("router")


def downgrade() -> None:
    drop_inbox_age_index("router")
