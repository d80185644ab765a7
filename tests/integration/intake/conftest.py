"""A running intake for each test: migrated fresh database, real Kafka, its own topic prefix
(so a new consumer group reading from the earliest offset sees only this test's messages).
A test changes intake's settings by parametrizing `intake_settings`."""

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from harness import EventReader, migrate, running_app
from incident_devstack.pytest_plugin import Infra
from incident_kit.clock import FrozenClock
from intake.app import create_app
from intake.config import IntakeSettings
from integration.intake.support import API_KEY, T0, RunningIntake
from sqlalchemy.ext.asyncio import create_async_engine


@pytest.fixture
def intake_settings() -> dict[str, Any]:
    """Settings a test sets on top of the defaults, e.g. how reports are grouped."""
    return {}


@pytest.fixture
async def intake(
    infra: Infra, fresh_database_url: str, kafka_topic_prefix: str, intake_settings: dict[str, Any]
) -> AsyncIterator[RunningIntake]:
    # Alembic's env runs its own event loop: keep it off the test's loop.
    await asyncio.to_thread(migrate, fresh_database_url, "intake")
    prefix = kafka_topic_prefix
    servers = infra.kafka_bootstrap_servers
    settings = IntakeSettings(
        kafka_bootstrap_servers=servers,
        database_url=fresh_database_url,
        api_keys=API_KEY,
        kafka_topic_prefix=prefix,
        handler_retries=1,
        **intake_settings,
    )
    clock = FrozenClock(T0)
    engine = create_async_engine(settings.database_url)
    async with (
        running_app(create_app(settings, clock)) as client,
        EventReader(servers, [f"{prefix}incidents"]) as reader,
    ):
        yield RunningIntake(client, reader, clock, servers, prefix, engine)
    await engine.dispose()
