"""Replaying dead letters on the real broker: a message about an incident the service does not
know yet is parked, `python -m incident_kit.dead_letters list` shows it with its reason, and
once the incident is known, `replay` puts it back on its topic and the service applies it."""

import io
import json
from datetime import timedelta
from typing import Any
from uuid import uuid4

import pytest
from harness import eventually, headers_of, publish_event, read_raw, running_app
from incident_devstack.pytest_plugin import Infra
from incident_events import Topic
from incident_events.incidents import IncidentReopened
from incident_kit.clock import FrozenClock, SystemClock
from incident_kit.consumer import Received, subscribe
from incident_kit.database import service_metadata
from incident_kit.dead_letters import parse_arguments, run
from incident_kit.errors import PoisonMessage
from incident_kit.inbox import inbox_table
from incident_kit.outbox import outbox_table
from incident_kit.service import build_app, build_runtime
from incident_kit.settings import ServiceSettings
from integration.kit.support import T0, create_tables, reopened

pytestmark = pytest.mark.integration
metadata = service_metadata("kitreplay")
outbox = outbox_table(metadata)
inbox = inbox_table(metadata)


async def command(settings: ServiceSettings, *argv: str) -> tuple[int, str]:
    """Run `python -m incident_kit.dead_letters <argv>` in this event loop; status and output."""
    out, err = io.StringIO(), io.StringIO()
    status = await run(
        parse_arguments(list(argv)), settings, out=out, err=err, clock=FrozenClock(T0)
    )
    return status, out.getvalue() + err.getvalue()


async def test_a_parked_message_is_listed_and_applied_once_replayed(
    infra: Infra, fresh_database_url: str, kafka_topic_prefix: str
) -> None:
    prefix, servers = kafka_topic_prefix, infra.kafka_bootstrap_servers
    settings = ServiceSettings(
        kafka_bootstrap_servers=servers,
        database_url=fresh_database_url,
        kafka_topic_prefix=prefix,
        handler_retries=0,
    )
    runtime = build_runtime("kitreplay", settings, FrozenClock(T0), outbox=outbox, inbox=inbox)
    known: set[str] = set()
    applied: list[str] = []

    async def reopen(received: Received) -> None:
        if received.event.subject not in known:
            raise PoisonMessage(f"unknown incident {received.event.subject!r}")
        received.after_commit(lambda: applied.append(received.event.subject))

    subscribe(runtime, Topic.INCIDENTS, reopen, acts_on=[IncidentReopened], description="test")
    await create_tables(runtime.engine, metadata)
    started = SystemClock().now() - timedelta(minutes=1)
    poison = reopened(f"later-{uuid4()}")

    async with running_app(build_app(runtime, title="kitreplay", description="", routers=[])):
        await publish_event(servers, poison, prefix=prefix)
        dlq = f"{prefix}incidents.dlq"
        parked = await read_raw(servers, dlq, lambda r: r.key == poison.subject.encode())

        status, output = await command(
            settings, "list", "--topic", "incidents", "--since", started.isoformat(), "--json"
        )
        assert status == 0, output
        (listed,) = [json.loads(line) for line in output.splitlines()]
        assert listed == {
            "partition": parked.partition,
            "offset": parked.offset,
            "parked_at": listed["parked_at"],
            "key": poison.subject,
            "group": f"{prefix}kitreplay",
            "error_class": "PoisonMessage",
            "reason": f"PoisonMessage: unknown incident {poison.subject!r}",
            "original_topic": f"{prefix}incidents",
            "original_partition": listed["original_partition"],
            "original_offset": listed["original_offset"],
            "attempts": 1,
            "event_type": "incident.reopened.v1",
            "event_id": str(poison.id),
        }
        _, readable = await command(settings, "list", "--topic", "incidents")
        assert f"reason  PoisonMessage: unknown incident {poison.subject!r}" in readable

        known.add(poison.subject)  # the cause is fixed
        position = f"{parked.partition}:{parked.offset}"
        status, output = await command(
            settings, "replay", "--topic", "incidents", "--offset", position
        )
        assert status == 0 and output.startswith(f"replayed {dlq} {position} to {prefix}incidents")
        await eventually(lambda: poison.subject in applied)

    replayed = await read_raw(
        servers, f"{prefix}incidents", lambda r: "replayed-from" in headers_of(r)
    )
    assert (replayed.key, replayed.value) == (parked.key, parked.value)
    headers: dict[str, Any] = headers_of(replayed)
    assert headers["replayed-from"] == f"{dlq}:{position}"
    assert headers["replayed-at"] == T0.isoformat()
    original = {name for name in headers_of(parked) if not name.startswith("dlq-")}
    assert set(headers) == original | {"replayed-from", "replayed-at"}
