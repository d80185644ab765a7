"""The dead-letter command without a broker: its arguments, which parked messages a selection
takes, what a replay carries, and how a parked message reads (incident_kit.dead_letters and
incident_kit.dead_letter_replay)."""

import argparse
import io
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from incident_kit.clock import FrozenClock
from incident_kit.dead_letter_replay import Selection, parked, replay_headers
from incident_kit.dead_letters import as_json, describe, full_topic, moment, parse_arguments, run
from incident_kit.dead_letters import position as offset_argument
from incident_kit.settings import ServiceSettings

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


@dataclass
class Record:
    """The fields of aiokafka's ConsumerRecord that a dead letter is read from."""

    partition: int
    offset: int
    timestamp: int
    key: bytes | None
    value: bytes | None
    headers: list[tuple[str, bytes]]


PARKED = Record(
    partition=1,
    offset=12,
    timestamp=int(T0.timestamp() * 1000),
    key=b"inc-1",
    value=b'{"type": "incident.assigned.v1", "id": "e-1", "data": {}}',
    headers=[
        ("content-type", b"application/cloudevents+json"),
        ("dlq-reason", b"PoisonMessage: unknown incident 'inc-1'"),
        ("dlq-error-class", b"PoisonMessage"),
        ("dlq-consumer-group", b"intake"),
        ("dlq-original-topic", b"assignments"),
        ("dlq-original-partition", b"2"),
        ("dlq-original-offset", b"345"),
        ("dlq-attempts", b"1"),
    ],
)


def test_a_parked_record_reads_as_what_where_and_why() -> None:
    message = parked(PARKED, topic="assignments")
    assert (message.position, message.parked_at, message.key) == ("1:12", T0, "inc-1")
    assert (message.group, message.error_class) == ("intake", "PoisonMessage")
    assert message.reason == "PoisonMessage: unknown incident 'inc-1'"
    assert (message.original_topic, message.original_partition, message.original_offset) == (
        "assignments",
        2,
        345,
    )
    assert (message.attempts, message.event_type, message.event_id) == (
        1,
        "incident.assigned.v1",
        "e-1",
    )


def test_a_record_that_is_not_an_event_or_lacks_headers_still_reads() -> None:
    garbage = Record(0, 3, int(T0.timestamp() * 1000), None, b"<html>", [])
    message = parked(garbage, topic="incidents")
    assert (message.key, message.event_type, message.original_topic) == (None, None, "incidents")
    assert (message.group, message.original_offset, message.attempts) == ("?", None, None)


def test_a_replay_keeps_the_original_headers_and_says_where_it_came_from() -> None:
    message = parked(PARKED, topic="assignments")
    assert replay_headers(message, dead_letters="assignments.dlq", now=T0) == [
        ("content-type", b"application/cloudevents+json"),
        ("replayed-from", b"assignments.dlq:1:12"),
        ("replayed-at", b"2026-11-23T09:00:00+00:00"),
    ]


def test_a_selection_takes_offsets_time_and_group() -> None:
    message = parked(PARKED, topic="assignments")
    assert Selection().matches(message) and Selection().empty
    assert Selection(positions=((1, 12),)).matches(message)
    assert Selection(positions=((None, 12),)).matches(message)
    assert not Selection(positions=((0, 12), (1, 13))).matches(message)
    assert Selection(since=T0).matches(message)
    assert not Selection(since=T0 + timedelta(seconds=1)).matches(message)
    assert not Selection(group="router").matches(message)
    assert Selection(group="intake", positions=((1, 12),)).matches(message)


def test_arguments() -> None:
    arguments = parse_arguments(
        ["replay", "--topic", "assignments", "--offset", "0:12", "--offset", "13"]
    )
    assert (arguments.command, arguments.topic, arguments.offset) == (
        "replay",
        "assignments",
        [(0, 12), (None, 13)],
    )
    assert moment("2026-11-23T09:00Z") == T0
    for bad in ("x:1", "1:", "-3"):
        with pytest.raises(argparse.ArgumentTypeError):
            offset_argument(bad)
    with pytest.raises(argparse.ArgumentTypeError, match="time zone"):
        moment("2026-11-23T09:00")
    assert full_topic("assignments", "staging-") == "staging-assignments"
    assert full_topic("staging-assignments", "staging-") == "staging-assignments"


def test_listing_shows_the_headers_and_json_leaves_the_value_out() -> None:
    message = parked(PARKED, topic="assignments")
    text = describe(message, topic="assignments")
    assert text.startswith("assignments.dlq 1:12  parked 2026-11-23T09:00:00+00:00\n")
    assert "  reason  PoisonMessage: unknown incident 'inc-1'\n" in text
    assert "  from    assignments 2:345, after 1 attempt(s)\n" in text
    listed = json.loads(as_json(message))
    assert listed["reason"] == message.reason and "value" not in listed
    assert listed["parked_at"] == "2026-11-23T09:00:00+00:00"


async def test_a_replay_without_a_selection_is_refused_before_reaching_kafka() -> None:
    settings = ServiceSettings(
        kafka_bootstrap_servers="127.0.0.1:1", database_url="postgresql://unused"
    )
    err = io.StringIO()
    arguments = parse_arguments(["replay", "--topic", "incidents"])
    status = await run(arguments, settings, out=io.StringIO(), err=err, clock=FrozenClock(T0))
    assert status == 2 and "--all" in err.getvalue()
