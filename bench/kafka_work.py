"""What the Kafka broker stored per incident during a benchmark: records produced (to every topic
but `__consumer_offsets`; while a benchmark runs, only the stack's grow), and offset-commit
records (each offset commit appends one record per partition it names to `__consumer_offsets`),
from the end offsets of the topics before and after.

Like `bench.database_work` these are counts, steady where CPU readings are noisy, and gross: the
benchmark's own consumer commits offsets too.
"""

from dataclasses import dataclass

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

OFFSET_COMMITS = "__consumer_offsets"


@dataclass(frozen=True)
class KafkaCounts:
    produced: int  # records on every other topic: the stack's events and dead letters
    offset_commits: int  # records on __consumer_offsets


async def read_counts(servers: str) -> KafkaCounts:
    """Every topic's end offsets summed: those of `__consumer_offsets`, and the rest."""
    admin = AIOKafkaAdminClient(bootstrap_servers=servers)
    await admin.start()
    try:
        described = await admin.describe_topics(await admin.list_topics())
    finally:
        await admin.close()
    partitions = [
        TopicPartition(topic["topic"], partition["partition"])
        for topic in described
        for partition in topic["partitions"]
    ]
    consumer = AIOKafkaConsumer(bootstrap_servers=servers, exclude_internal_topics=False)
    await consumer.start()
    try:
        ends = await consumer.end_offsets(partitions)
    finally:
        await consumer.stop()
    commits = sum(end for tp, end in ends.items() if tp.topic == OFFSET_COMMITS)
    return KafkaCounts(produced=sum(ends.values()) - commits, offset_commits=commits)
