"""The incident projection keeps the customer's time zone from the report (incident.reported.v1
customer.time_zone), so messages give times in it.

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # NULL for incidents reported before, or without a zone: their times stay in UTC.
    op.add_column("incidents", sa.Column("time_zone", sa.Text()), schema="notifier")


def downgrade() -> None:
    op.drop_column("incidents", "time_zone", schema="notifier")
