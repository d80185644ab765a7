"""Autovacuum cleans the outbox once 1,000 of its rows changed, not a fifth of the table
(incident_kit.migration_tables.vacuum_outbox_often): the relay's claims read every published
row's leftover entry in the unpublished-rows index until VACUUM removes it.

Revision ID: 0003
Revises: 0002
"""

from incident_kit.migration_tables import vacuum_outbox_by_default, vacuum_outbox_often

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    vacuum_outbox_often("sla")


def downgrade() -> None:
    vacuum_outbox_by_default("sla")
