"""Alembic environment of the sla schema."""

from incident_kit.migrations import run_env
from sla.tables import metadata

run_env(metadata)
