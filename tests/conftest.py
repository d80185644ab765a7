"""Test bootstrap: the real local Kafka and PostgreSQL come from the devstack plugin."""

from query_plans import seeded_sessions

pytest_plugins = ["incident_devstack.pytest_plugin"]
__all__ = ["seeded_sessions"]
