"""A B-tree index of the online agents by tier, beside the GIN one by skills and languages: an
incident that needs no skill gives the GIN index nothing to search by (`skills ?& '{}'` holds
for every row), so choosing for it read the whole agents table, offline agents and all (0.43 ms
a decision among 1,108 agents of whom 3 were online; 0.03 ms through this index).

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_agents_online_by_tier",
        "agents",
        ["tier"],
        schema="router",
        postgresql_where=sa.text("presence = 'online'"),
    )


def downgrade() -> None:
    op.drop_index("ix_agents_online_by_tier", table_name="agents", schema="router")
