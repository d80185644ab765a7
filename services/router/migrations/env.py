"""Alembic environment of the router's schema."""

from incident_kit.migrations import run_env
from router.tables import metadata

run_env(metadata)
