"""An index of the online agents by skills and languages, so that choosing among many agents
reads only those who could take the incident (repository.least_loaded_eligible), not every
agent ever registered.

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_agents_online_eligibility",
        "agents",
        ["skills", "languages"],
        schema="router",
        postgresql_using="gin",
        postgresql_where=sa.text("presence = 'online'"),
    )


def downgrade() -> None:
    op.drop_index("ix_agents_online_eligibility", table_name="agents", schema="router")
