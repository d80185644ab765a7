"""The breach watermark, pure: offset snapshots reached by the consumer group, the horizon they
settle, and when Kafka must be asked at all."""

from datetime import UTC, datetime, timedelta

import pytest
from sla.watermark import Snapshot, Watermark, snapshot

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
GRACE = timedelta(seconds=30)
SECOND = timedelta(seconds=1)


def test_partitions_without_records_are_not_waited_for() -> None:
    taken = snapshot(T0, beginnings={0: 0, 1: 5, 2: 0}, ends={0: 3, 1: 5, 2: 0})
    assert taken.ends == {0: 3}  # 1: all expired, 2: never written
    assert taken.reached_by({0: 3})  # no commit on 1 or 2 is needed
    assert not taken.reached_by({0: 2, 1: 5, 2: 0})
    assert not taken.reached_by({})  # the group never committed on a partition with records
    assert snapshot(T0, beginnings={}, ends={}).reached_by({})  # topic not created yet


def test_a_caught_up_group_settles_now_minus_grace() -> None:
    mark = Watermark().advance(Snapshot(T0, {0: 3}), {0: 3})
    assert mark == Watermark(applied_through=T0, pending=None)
    assert mark.settled(GRACE) == T0 - GRACE


def test_a_lagging_group_settles_the_oldest_snapshot_once_it_passes_it() -> None:
    first, second = Snapshot(T0, {0: 10}), Snapshot(T0 + SECOND, {0: 20})
    mark = Watermark().advance(first, {0: 4})
    assert (mark.applied_through, mark.pending) == (None, first)
    assert mark.settled(GRACE) is None  # nothing known: no breach at all

    mark = mark.advance(second, {0: 9})  # still short of the first: the oldest is kept
    assert (mark.applied_through, mark.pending) == (None, first)

    third = Snapshot(T0 + 2 * SECOND, {0: 30})
    mark = mark.advance(third, {0: 12})  # past the first, short of the third
    assert (mark.applied_through, mark.pending) == (T0, third)

    mark = mark.advance(Snapshot(T0 + 3 * SECOND, {0: 31}), {0: 31})
    assert (mark.applied_through, mark.pending) == (T0 + 3 * SECOND, None)


def test_the_watermark_never_moves_back() -> None:
    mark = Watermark(applied_through=T0).advance(Snapshot(T0 - SECOND, {}), {})
    assert mark.applied_through == T0


NOW = T0 + timedelta(hours=1)


@pytest.mark.parametrize(
    ("mark", "earliest", "waits"),
    [
        (Watermark(), None, False),  # no clock running
        (Watermark(), NOW - GRACE + SECOND, False),  # due, but within the grace
        (Watermark(), NOW - GRACE, True),  # past the grace, nothing known yet
        (Watermark(applied_through=NOW - SECOND), NOW - GRACE - SECOND, False),  # settled
        (Watermark(applied_through=NOW - 5 * SECOND), NOW - GRACE - SECOND, True),
    ],
)
def test_kafka_is_asked_only_while_a_breach_waits_on_it(
    mark: Watermark, earliest: datetime | None, waits: bool
) -> None:
    assert mark.waits_for_kafka(earliest, NOW, GRACE) is waits
