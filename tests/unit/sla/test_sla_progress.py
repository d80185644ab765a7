"""Reading a topic's partitions from its metadata: a missing topic has none, an error is never
taken for an empty partition (that would settle moments nobody applied)."""

from typing import Any

import pytest
from aiokafka.errors import KafkaError
from aiokafka.structs import TopicPartition
from sla.progress import topic_partitions


def topic(
    name: str, error: int = 0, partitions: tuple[int, ...] = (), bad: int = 0
) -> dict[str, Any]:
    """A topic's metadata as the admin client gives it; `bad` is partition 0's error."""
    return {
        "topic": name,
        "error_code": error,
        "partitions": [{"partition": p, "error_code": bad if p == 0 else 0} for p in partitions],
    }


def test_the_partitions_of_the_topic() -> None:
    described = [topic("other", partitions=(0,)), topic("incidents", partitions=(1, 0, 2))]
    assert topic_partitions("incidents", described) == [
        TopicPartition("incidents", p) for p in (1, 0, 2)
    ]


def test_a_topic_not_created_yet_has_none() -> None:
    assert topic_partitions("incidents", [topic("incidents", error=3)]) == []
    assert topic_partitions("incidents", []) == []


@pytest.mark.parametrize(
    "described",
    [[topic("incidents", error=5)], [topic("incidents", partitions=(0, 1), bad=5)]],
)
def test_a_metadata_error_raises(described: list[dict[str, Any]]) -> None:
    with pytest.raises(KafkaError, match="incidents"):
        topic_partitions("incidents", described)
