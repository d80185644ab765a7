"""Fixtures of the sla integration tests: settings on a migrated fresh database and a topic
prefix of the test's own (topics and consumer group), so no other test's or `make up` stack's
messages reach the app and none of its facts reach them. Every app of one test shares it."""

from uuid import uuid4

import harness
import pytest
from incident_devstack.pytest_plugin import Infra
from sla.config import SlaSettings


@pytest.fixture
def settings(infra: Infra, fresh_database_url: str) -> SlaSettings:
    harness.migrate(fresh_database_url, "sla")
    return SlaSettings(
        kafka_bootstrap_servers=infra.kafka_bootstrap_servers,
        database_url=fresh_database_url,
        api_keys="k",
        kafka_topic_prefix=f"sla-{uuid4().hex[:8]}-",
        tick_seconds=0.1,
    )
