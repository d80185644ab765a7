"""The inbox gets an index on processed_at, for pruning claims older than the retention
(incident_kit.migration_tables.index_inbox_by_age; incident_kit.retention prunes).

Revision ID: 0004
Revises: 0003
"""

from incident_kit.migration_tables import drop_inbox_age_index, index_inbox_by_age

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    index_inbox_by_age("sla")


def downgrade() -> None:
    drop_inbox_age_index("sla")
