"""A subscriber whose topic is missing creates it with KAFKA_TOPIC_PARTITIONS partitions (not
FastStream's one), so several consumer-group members can share the work."""

import pytest
from aiokafka.admin import AIOKafkaAdminClient
from harness import running_app
from incident_devstack.pytest_plugin import Infra
from incident_events import Topic
from incident_events.incidents import IncidentReopened
from incident_kit.clock import FrozenClock
from incident_kit.consumer import Received, subscribe
from incident_kit.database import service_metadata
from incident_kit.inbox import inbox_table
from incident_kit.outbox import outbox_table
from incident_kit.service import build_app, build_runtime
from incident_kit.settings import ServiceSettings
from integration.kit.support import T0, create_tables

pytestmark = pytest.mark.integration
metadata = service_metadata("kittopics")
outbox, inbox = outbox_table(metadata), inbox_table(metadata)


async def ignore(received: Received) -> None:
    return None


async def test_a_missing_topic_is_created_with_the_configured_partitions(
    infra: Infra, fresh_database_url: str, kafka_topic_prefix: str
) -> None:
    settings = ServiceSettings(
        kafka_bootstrap_servers=infra.kafka_bootstrap_servers,
        database_url=fresh_database_url,
        kafka_topic_prefix=kafka_topic_prefix,
        kafka_topic_partitions=4,
    )
    runtime = build_runtime("kittopics", settings, FrozenClock(T0), outbox=outbox, inbox=inbox)
    subscribe(runtime, Topic.INCIDENTS, ignore, acts_on=[IncidentReopened], description="")
    await create_tables(runtime.engine, metadata)
    async with running_app(build_app(runtime, title="t", description="", routers=[])):
        admin = AIOKafkaAdminClient(bootstrap_servers=infra.kafka_bootstrap_servers)
        await admin.start()
        try:
            (described,) = await admin.describe_topics([f"{kafka_topic_prefix}incidents"])
        finally:
            await admin.close()
    assert len(described["partitions"]) == 4
