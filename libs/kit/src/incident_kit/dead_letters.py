"""Listing and replaying dead letters: `python -m incident_kit.dead_letters list|replay`.

    python -m incident_kit.dead_letters list --topic assignments --since 2026-11-23T09:00Z
    python -m incident_kit.dead_letters replay --topic assignments --offset 0:12 --offset 0:13

`list` shows what is parked on `<topic>.dlq`: where (partition:offset, the handle `--offset`
takes), when, by which consumer group, the error class and reason, the event, and where it was
consumed from. Once the cause is fixed (a handler deployed, the missing incident there), `replay`
publishes the chosen messages to their original topic again (`incident_kit.dead_letter_replay`).
Every consumer group of the topic sees them again: a group that had applied one skips it (its
inbox knows the event id), the group that parked it applies it now, and handlers ignore facts
older than what they have applied, so a late replay does not undo later facts.

Kafka is reached as the services reach it (KAFKA_BOOTSTRAP_SERVERS, KAFKA_TOPIC_PREFIX and the
SASL/TLS variables); --bootstrap overrides the servers. `replay` wants a selection (--offset,
--since, --group, or --all), so that a bare command never re-publishes a whole topic.
"""

import argparse
import asyncio
import json
import sys
from dataclasses import asdict
from datetime import datetime
from typing import TextIO

from incident_events import dead_letter_topic
from pydantic import AliasChoices, Field

from incident_kit.clock import Clock, SystemClock
from incident_kit.dead_letter_replay import ParkedMessage, Selection, read_dead_letters, replay
from incident_kit.kafka import client_options
from incident_kit.settings import ServiceSettings, load_settings


class DeadLetterToolSettings(ServiceSettings):
    """The services' Kafka settings; the tool needs no database, and --bootstrap may name Kafka."""

    kafka_bootstrap_servers: str = Field(
        default="",
        validation_alias=AliasChoices("KAFKA_BOOTSTRAP_SERVERS", "kafka_bootstrap_servers"),
    )
    database_url: str = "postgresql+asyncpg://unused"


def moment(text: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(f"not an ISO 8601 time: {text!r}") from error
    if parsed.tzinfo is None:
        raise argparse.ArgumentTypeError(f"give the time zone too, e.g. {text}Z or {text}+01:00")
    return parsed


def position(text: str) -> tuple[int | None, int]:
    partition, _, offset = text.rpartition(":")
    if not offset.isdigit() or not (partition == "" or partition.isdigit()):
        raise argparse.ArgumentTypeError(f"not OFFSET or PARTITION:OFFSET: {text!r}")
    return (int(partition) if partition else None), int(offset)


def parse_arguments(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m incident_kit.dead_letters",
        description="List the messages parked on <topic>.dlq, or replay chosen ones to <topic>.",
    )
    parser.add_argument("command", choices=["list", "replay"])
    parser.add_argument(
        "--topic", required=True, help="the consumed topic, e.g. assignments (prefix added)"
    )
    parser.add_argument(
        "--since", type=moment, help="only messages parked from then on, e.g. 2026-11-23T09:00Z"
    )
    parser.add_argument(
        "--offset",
        type=position,
        action="append",
        default=[],
        help="a parked message as PARTITION:OFFSET (or OFFSET on any partition); repeatable",
    )
    parser.add_argument("--group", help="only messages parked by this consumer group")
    parser.add_argument("--all", action="store_true", help="replay everything selected")
    parser.add_argument("--json", action="store_true", help="list as one JSON object a line")
    parser.add_argument("--bootstrap", help="Kafka servers (default: KAFKA_BOOTSTRAP_SERVERS)")
    return parser.parse_args(argv)


def full_topic(topic: str, prefix: str) -> str:
    """The topic under the environment's prefix; a name that already carries it is kept."""
    return topic if topic.startswith(prefix) else prefix + topic


def describe(message: ParkedMessage, *, topic: str) -> str:
    attempts = f", after {message.attempts} attempt(s)" if message.attempts is not None else ""
    origin = f"{message.original_partition}:{message.original_offset}"
    return (
        f"{dead_letter_topic(topic)} {message.position}  parked {message.parked_at.isoformat()}\n"
        f"  group   {message.group}\n"
        f"  error   {message.error_class}\n"
        f"  reason  {message.reason}\n"
        f"  event   {message.event_type or '?'} {message.event_id or ''}\n"
        f"  key     {message.key}\n"
        f"  from    {message.original_topic} {origin}{attempts}\n"
    )


def as_json(message: ParkedMessage) -> str:
    fields = asdict(message)
    del fields["value"], fields["headers"]  # the value may be personal data: read it on Kafka
    fields["parked_at"] = message.parked_at.isoformat()
    return json.dumps(fields) + "\n"


async def run(
    arguments: argparse.Namespace,
    settings: ServiceSettings,
    *,
    out: TextIO,
    err: TextIO,
    clock: Clock,
) -> int:
    """The command, once parsed and configured; returns the exit status."""
    topic = full_topic(arguments.topic, settings.kafka_topic_prefix)
    selection = Selection(arguments.since, tuple(arguments.offset), arguments.group)
    if arguments.command == "replay" and selection.empty and not arguments.all:
        err.write("replay: choose with --offset, --since or --group, or pass --all\n")
        return 2
    options = client_options(settings)
    found = await read_dead_letters(options, topic, since=arguments.since)
    chosen = [message for message in found if selection.matches(message)]
    if not chosen:
        err.write(f"{arguments.command}: no message on {dead_letter_topic(topic)} matches\n")
        return 0 if arguments.command == "list" else 1
    if arguments.command == "list":
        for message in chosen:
            out.write(as_json(message) if arguments.json else describe(message, topic=topic))
        return 0
    for message, sent in zip(
        chosen, await replay(options, topic, chosen, clock=clock), strict=True
    ):
        out.write(
            f"replayed {dead_letter_topic(topic)} {message.position}"
            f" to {sent.topic} {sent.partition}:{sent.offset}\n"
        )
    return 0


def main(argv: list[str] | None = None) -> None:
    arguments = parse_arguments(argv)
    settings = load_settings(DeadLetterToolSettings)
    servers = arguments.bootstrap or settings.kafka_bootstrap_servers
    if not servers:
        sys.stderr.write("configuration error:\n  KAFKA_BOOTSTRAP_SERVERS: set it or --bootstrap\n")
        raise SystemExit(2)
    settings = settings.model_copy(update={"kafka_bootstrap_servers": servers})
    status = asyncio.run(
        run(arguments, settings, out=sys.stdout, err=sys.stderr, clock=SystemClock())
    )
    raise SystemExit(status)


if __name__ == "__main__":
    main()
