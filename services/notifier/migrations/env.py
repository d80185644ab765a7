"""Alembic environment of the notifier's schema."""

from incident_kit.migrations import run_env
from notifier.tables import metadata

run_env(metadata)
