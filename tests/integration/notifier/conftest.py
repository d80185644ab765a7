"""Fixtures of the notifier integration tests: the app with a real SMTP server receiving mail."""

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from incident_devstack.pytest_plugin import Infra
from integration.notifier.support import NotifierUnderTest, running_notifier, smtp_sink


@pytest.fixture
async def notifier(
    infra: Infra, fresh_database_url: str, kafka_topic_prefix: str, tmp_path: Path
) -> AsyncIterator[NotifierUnderTest]:
    async with (
        smtp_sink(tmp_path / "mail") as sink,
        running_notifier(
            infra, fresh_database_url, kafka_topic_prefix, smtp_port=sink.port, mail=sink
        ) as running,
    ):
        yield running
