"""The consumer's offset commits: made behind the next batch, landing in the order they were
made, and waited for before the consumer stops. A stand-in consumer records the commits; the
broker-side behaviour (commits reaching the group) is tested in tests/integration/kit."""

import asyncio
from types import SimpleNamespace
from typing import Any

from aiokafka import TopicPartition
from aiokafka.errors import CommitFailedError
from incident_kit.offsets import UncommittedOffsets

TOPIC = "incidents"


class HeldCommits:
    """A consumer whose every commit waits until released, in order."""

    def __init__(self, partitions: int = 2) -> None:
        self._assigned = {TopicPartition(TOPIC, p) for p in range(partitions)}
        self.started: list[dict[TopicPartition, int]] = []
        self.landed: list[dict[TopicPartition, int]] = []
        self.releases: asyncio.Queue[Exception | None] = asyncio.Queue()

    def assignment(self) -> set[TopicPartition]:
        return self._assigned

    async def commit(self, offsets: dict[TopicPartition, int]) -> None:
        self.started.append(offsets)
        failure = await self.releases.get()
        if failure is not None:
            raise failure
        self.landed.append(offsets)


def records(partition: int, *offsets: int) -> list[Any]:
    return [SimpleNamespace(topic=TOPIC, partition=partition, offset=o) for o in offsets]


async def settled_or_not(offsets: UncommittedOffsets) -> bool:
    """Whether `settle` returns while the commit in flight is held: given every turn of the
    event loop it could use (no wall-clock wait), then abandoned."""
    settling = asyncio.create_task(offsets.settle())
    for _ in range(10):
        await asyncio.sleep(0)
    settled = settling.done()
    settling.cancel()
    return settled


async def test_a_batchs_commit_does_not_hold_up_the_next_and_commits_land_in_order() -> None:
    consumer = HeldCommits()
    offsets = UncommittedOffsets()

    offsets.applied(records(0, 0, 1))
    offsets.commit_behind(consumer)  # type: ignore[arg-type]  # returns at once
    offsets.applied(records(1, 0))
    offsets.applied(records(0, 2))
    offsets.commit_behind(consumer)  # type: ignore[arg-type]
    await asyncio.sleep(0)

    # The second commit waits for the first, so an older offset never lands after a newer one.
    assert consumer.started == [{TopicPartition(TOPIC, 0): 2}]
    assert not await settled_or_not(offsets)

    consumer.releases.put_nowait(None)
    consumer.releases.put_nowait(None)
    await offsets.settle()
    assert consumer.landed == [
        {TopicPartition(TOPIC, 0): 2},
        {TopicPartition(TOPIC, 0): 3, TopicPartition(TOPIC, 1): 1},
    ]


async def test_a_failed_commit_is_left_to_redelivery_and_the_next_one_still_lands() -> None:
    consumer = HeldCommits()
    offsets = UncommittedOffsets()
    consumer.releases.put_nowait(CommitFailedError("rebalanced"))
    consumer.releases.put_nowait(None)

    offsets.applied(records(0, 0))
    offsets.commit_behind(consumer)  # type: ignore[arg-type]
    offsets.applied(records(0, 1))
    offsets.commit_behind(consumer)  # type: ignore[arg-type]
    await offsets.settle()

    assert consumer.landed == [{TopicPartition(TOPIC, 0): 2}]


async def test_an_owed_commit_at_an_idle_poll_lands_after_the_commit_in_flight() -> None:
    consumer = HeldCommits()
    offsets = UncommittedOffsets()

    offsets.applied(records(0, 0))
    offsets.commit_behind(consumer)  # type: ignore[arg-type]
    offsets.applied(records(1, 5))  # a batch of ignored events: owed
    assert offsets.may_wait()
    owed = asyncio.create_task(offsets.commit_owed(consumer))  # type: ignore[arg-type]
    await asyncio.sleep(0)
    assert consumer.started == [{TopicPartition(TOPIC, 0): 1}]

    consumer.releases.put_nowait(None)
    consumer.releases.put_nowait(None)
    await owed
    assert consumer.landed == [{TopicPartition(TOPIC, 0): 1}, {TopicPartition(TOPIC, 1): 6}]
