"""pytest fixtures for real infrastructure: `infra` (Kafka + PostgreSQL), `fresh_database_url`
and `kafka_topic_prefix`.

Registered by the root conftest (`pytest_plugins = ["incident_devstack.pytest_plugin"]`).
With `KAFKA_BOOTSTRAP_SERVERS` and `DATABASE_URL` set those are used as they are;
otherwise the local servers are started if needed, and at the end of the session
only what test sessions started is stopped (a running `make up` is left alone).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from incident_devstack.paths import StackPaths
from incident_devstack.postgres import create_database, drop_database
from incident_devstack.stack import Infra, acquire_infra, external_infra, release_infra
from incident_devstack.topics import delete_topics

__all__ = ["Infra", "fresh_database_url", "infra", "kafka_topic_prefix"]


@pytest.fixture(scope="session")
def infra() -> Iterator[Infra]:
    paths = StackPaths.discover()
    given = external_infra(paths)
    if given is not None:
        yield given
        return
    try:
        yield acquire_infra(paths)
    finally:
        # Also after a failed start: whatever did start is stopped again.
        release_infra(paths)


@pytest.fixture
def fresh_database_url(infra: Infra) -> Iterator[str]:
    """A new, empty database on the infra's cluster (dropped afterwards), as an asyncpg URL."""
    name = f"test_{uuid.uuid4().hex[:20]}"
    url = create_database(name, database_url=infra.database_url)
    yield url
    drop_database(name, database_url=infra.database_url)


@pytest.fixture
def kafka_topic_prefix(infra: Infra) -> Iterator[str]:
    """A topic and consumer-group prefix of the test's own (KAFKA_TOPIC_PREFIX), so no other
    test's messages reach it; its topics are deleted afterwards."""
    prefix = f"test-{uuid.uuid4().hex[:12]}-"
    yield prefix
    delete_topics(infra.kafka_bootstrap_servers, prefix)
