"""Alembic environment of intake's schema."""

from incident_kit.migrations import run_env
from intake.tables import metadata

run_env(metadata)
