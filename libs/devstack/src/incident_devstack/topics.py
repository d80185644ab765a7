"""Deleting a test's Kafka topics, by their prefix, once it is done: otherwise the local broker
gathers hundreds of partitions a run, and every later start and test gets slower."""

import asyncio
from concurrent.futures import ThreadPoolExecutor

from aiokafka.admin import AIOKafkaAdminClient


async def _delete_topics(bootstrap_servers: str, prefix: str) -> list[str]:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers)
    await admin.start()
    try:
        topics = [topic for topic in await admin.list_topics() if topic.startswith(prefix)]
        if topics:
            await admin.delete_topics(topics)
        return topics
    finally:
        await admin.close()


def delete_topics(bootstrap_servers: str, prefix: str) -> list[str]:
    """Delete every topic whose name starts with `prefix`; returns their names."""
    # Fixture teardown runs beside the tests' event loop: a thread of its own keeps them apart.
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, _delete_topics(bootstrap_servers, prefix)).result()
