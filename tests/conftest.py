"""Test bootstrap: the real local Kafka and PostgreSQL come from the devstack plugin."""

pytest_plugins = ["incident_devstack.pytest_plugin"]
