"""The consumer's offsets consumed and not yet committed, and when to commit them.

An offset commit is a request the broker appends to its `__consumer_offsets` log, one record
per partition named in it. aiokafka's `commit()` names every assigned partition (six for a
service on two three-partition topics) where a batch at a few incidents a second holds the
records of one; this commits only the partitions the batches came from.

A batch that changed nothing (every event in it one this service ignores, as the router does a
status change) leaves its offsets owed instead of committing them at once: the next batch's
commit covers them, or the first idle poll, or at the latest one a second later. Should the
consumer stop meanwhile, its successor reads those events again and ignores them again; should a
partition move away and back within that second, its commit may go back to an older offset,
with the same outcome.

A batch's commit is made behind it (`commit_behind`): the consumer fetches and applies the next
batch while the broker answers, instead of waiting a round trip between every two batches, and
each commit waits for the one before, so they land in order. A stop waits for the commit of the
batch in flight; a commit cut off by a stop or a crash leaves its batch to be read again, as an
unanswered commit always did.
"""

import asyncio
import logging
import time
from collections.abc import Iterable
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.errors import CommitFailedError, KafkaError

log = logging.getLogger(__name__)


class UncommittedOffsets:
    """Per partition, the offset after the last record applied and not committed yet."""

    # An unbroken run of ignored events still commits this often, so that consumer lag shows
    # what is really left to do.
    OWED_AT_MOST_SECONDS = 1.0

    def __init__(self) -> None:
        self._offsets: dict[TopicPartition, int] = {}
        self._owed_since: float | None = None
        self._committing: asyncio.Task[None] | None = None

    def applied(self, records: Iterable[Any]) -> None:
        """Note a batch as applied (its records in offset order per partition)."""
        for record in records:
            self._offsets[TopicPartition(record.topic, record.partition)] = record.offset + 1

    def may_wait(self) -> bool:
        """Whether a batch that changed nothing may leave its offsets owed: False once they
        have been owed for `OWED_AT_MOST_SECONDS`."""
        now = time.monotonic()
        if self._owed_since is None:
            self._owed_since = now
        return now - self._owed_since < self.OWED_AT_MOST_SECONDS

    def commit_behind(self, consumer: AIOKafkaConsumer) -> None:
        """Commit what is noted while the consumer goes on to its next batch: the commit's round
        trip to the broker no longer holds up the events behind it. Commits land in the order
        they were made; one that fails leaves its batch to be redelivered (the inbox absorbs)."""
        offsets = self._take(consumer)
        if offsets:
            self._committing = asyncio.create_task(
                self._commit_after(self._committing, consumer, offsets)
            )

    def _take(self, consumer: AIOKafkaConsumer) -> dict[TopicPartition, int]:
        """What is noted, for the partitions still assigned; noted no longer."""
        assigned = consumer.assignment()
        offsets = {tp: offset for tp, offset in self._offsets.items() if tp in assigned}
        self._offsets.clear()
        self._owed_since = None
        return offsets

    async def settle(self) -> None:
        """Wait for the commit in flight, if any (before the consumer stops)."""
        if self._committing is not None:
            # asyncio.wait, not gather: a wait cancelled (a stop) leaves the commit running.
            await asyncio.wait({self._committing})

    @staticmethod
    async def _commit_after(
        previous: "asyncio.Task[None] | None",
        consumer: AIOKafkaConsumer,
        offsets: dict[TopicPartition, int],
    ) -> None:
        if previous is not None:  # an older commit must not land after this one
            await asyncio.wait({previous})
        try:
            await consumer.commit(offsets)
        except CommitFailedError:
            log.warning("offset commit failed after a rebalance; the batch will be redelivered")
        except Exception:
            log.warning("offset commit failed; the batch may be redelivered", exc_info=True)

    async def commit_owed(self, consumer: AIOKafkaConsumer) -> None:
        """At an idle poll: commit what batches that changed nothing left owed."""
        if self._owed_since is None:
            return
        await self.settle()  # after the commit in flight, which is older
        offsets = self._take(consumer)
        if not offsets:
            return
        try:
            await consumer.commit(offsets)
        except CommitFailedError:
            pass  # the partitions moved on; their new owner reads the ignored events again
        except KafkaError:
            # Not committed: the events are read again after a restart, and ignored again.
            log.debug("owed offset commit failed", exc_info=True)
