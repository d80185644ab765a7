"""Test bootstrap: the real local Kafka and PostgreSQL come from the devstack plugin; the
query-plan tests' seeded database from `query_plans`."""

pytest_plugins = ["incident_devstack.pytest_plugin", "query_plans"]
