"""logged_by: the agent who logged a report for the customer (phone, fax).

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
    op.add_column("incidents", sa.Column("logged_by", sa.Text()), schema="intake")


def downgrade() -> None:
    op.drop_column("incidents", "logged_by", schema="intake")
