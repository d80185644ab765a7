"""Fixtures of the sla integration tests: settings on a migrated fresh database and a topic
prefix of the test's own (topics and consumer group), so no other test's or `make up` stack's
messages reach the app and none of its facts reach them. Every app of one test shares it."""

import harness
import pytest
from incident_devstack.pytest_plugin import Infra
from sla.config import SlaSettings


@pytest.fixture
def settings(infra: Infra, fresh_database_url: str, kafka_topic_prefix: str) -> SlaSettings:
    harness.migrate(fresh_database_url, "sla")
    return SlaSettings(
        kafka_bootstrap_servers=infra.kafka_bootstrap_servers,
        database_url=fresh_database_url,
        api_keys="k",
        kafka_topic_prefix=kafka_topic_prefix,
        tick_seconds=0.1,
        gauge_refresh_seconds=0.1,
    )
