"""Fixtures of the sla integration tests: a migrated fresh database and a unique incident kind."""

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
        tick_seconds=0.1,
    )


@pytest.fixture
def kind() -> str:
    """An incident kind only this test's policy matches: the incidents topic is shared, and
    other tests' incidents must not start clocks here."""
    return f"sla-test-{uuid4().hex[:12]}"
