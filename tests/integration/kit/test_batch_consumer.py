"""The batch-first consumer on the real broker and database: a batch is one transaction in which
a poison message is undone and dead-lettered alone, a redelivered batch changes nothing, each
incident's events are handled in order, an outage is waited out, never dead-lettered, and events
the subscriber does not act on cost no transaction."""

import contextlib
from collections import Counter
from collections.abc import AsyncIterator, Callable
from uuid import UUID, uuid4

import pytest
from faststream.kafka.subscriber.usecase import LogicSubscriber
from harness import EventReader, eventually, headers_of, read_raw, running_app
from incident_devstack.pytest_plugin import Infra
from incident_events import Event, EventData, Topic
from incident_events.incidents import IncidentReopened
from incident_events.sla import IncidentEscalated
from incident_kit.clock import FrozenClock
from incident_kit.consumer import Received, subscribe
from incident_kit.database import service_metadata
from incident_kit.errors import InfrastructureUnavailable, PoisonMessage
from incident_kit.inbox import inbox_table
from incident_kit.outbox import outbox_table
from incident_kit.service import Runtime, build_app, build_runtime
from incident_kit.settings import ServiceSettings
from integration.kit.support import (
    T0,
    committed_offsets,
    create_tables,
    create_topic,
    incidents_on_every_partition,
    publish_all,
    read_raw_until,
    reopened,
)
from sqlalchemy import BigInteger, Column, Identity, Table, Text, insert, select, text
from sqlalchemy.dialects.postgresql import UUID as PgUUID

pytestmark = pytest.mark.integration
metadata = service_metadata("kitbatch")
outbox = outbox_table(metadata)
inbox = inbox_table(metadata)
# The handler's effect: one row per handled event, numbered in the order they were written.
effects = Table(
    "effects",
    metadata,
    Column("position", BigInteger, Identity(), primary_key=True),
    Column("event_id", PgUUID(as_uuid=True), nullable=False),
    Column("incident_id", Text, nullable=False),
    Column("reason", Text, nullable=False),
)
Effect = tuple[UUID, str, str]


class Recorder:
    """Writes a row and emits an escalation per event. A reopening for reason "poison" breaks a
    rule after writing its row and emitting; one for "outage" finds a dependency down `outages`
    times, also after both."""

    def __init__(self, outages: int = 0) -> None:
        self.outages = outages
        self.attempts: Counter[UUID] = Counter()
        self.transactions: list[int] = []  # txid_current() of every attempt

    async def __call__(self, received: Received) -> None:
        event, session = received.event, received.session
        assert isinstance(event.data, IncidentReopened)
        reason = event.data.reason
        self.attempts[event.id] += 1
        self.transactions.append(
            (await session.execute(text("SELECT txid_current()"))).scalar_one()
        )
        await session.execute(
            insert(effects).values(event_id=event.id, incident_id=event.subject, reason=reason)
        )
        escalation = IncidentEscalated(
            incident_id=event.subject,
            escalation_id=str(event.id),
            level=1,
            reason=reason,
            escalated_at=received.now,
        )
        await received.emit([escalation])
        if reason == "poison":
            raise PoisonMessage("the incident is unknown")
        if reason == "outage" and self.attempts[event.id] <= self.outages:
            raise InfrastructureUnavailable("the mail server is down")


def service_for(
    infra: Infra, database_url: str, prefix: str, batch_size: int = 500, gather_ms: float = 0
) -> Runtime:
    settings = ServiceSettings(
        kafka_bootstrap_servers=infra.kafka_bootstrap_servers,
        database_url=database_url,
        kafka_topic_prefix=prefix,
        consumer_batch_size=batch_size,
        consumer_gather_ms=gather_ms,
        retry_max_backoff_seconds=0.2,
    )
    return build_runtime("kitbatch", settings, FrozenClock(T0), outbox=outbox, inbox=inbox)


@contextlib.asynccontextmanager
async def consuming(
    runtime: Runtime,
    handler: Recorder,
    acts_if: Callable[[EventData], bool] = lambda data: True,
) -> AsyncIterator[None]:
    subscribe(
        runtime,
        Topic.INCIDENTS,
        handler,
        acts_on=[IncidentReopened],
        acts_if=acts_if,
        description="test",
    )
    await create_tables(runtime.engine, metadata)
    async with running_app(build_app(runtime, title="kitbatch", description="", routers=[])):
        yield


async def effects_of(runtime: Runtime) -> list[Effect]:
    query = select(effects.c.event_id, effects.c.incident_id, effects.c.reason)
    async with runtime.sessions() as session:
        return list((await session.execute(query.order_by(effects.c.position))).all())


def keyed(events: list[Event[IncidentReopened]]) -> list[tuple[str, bytes]]:
    return [(event.subject, event.to_json()) for event in events]


async def test_a_poison_message_in_a_batch_is_dead_lettered_alone(
    infra: Infra, fresh_database_url: str, kafka_topic_prefix: str
) -> None:
    prefix, servers = kafka_topic_prefix, infra.kafka_bootstrap_servers
    topic = f"{prefix}incidents"
    incident = f"batch-{uuid4()}"  # one key: one partition, so one batch
    good = [reopened(incident, f"step {n}") for n in range(18)]
    poison, garbage = reopened(incident, "poison"), b"<html>not an event</html>"
    messages = keyed(good[:6]) + keyed([poison]) + keyed(good[6:12])
    messages += [(incident, garbage), *keyed(good[12:])]
    await publish_all(servers, topic, messages)  # before the consumer starts: one batch

    handler = Recorder()
    runtime = service_for(infra, fresh_database_url, prefix)
    async with consuming(runtime, handler), EventReader(servers, [f"{prefix}sla"]) as reader:
        dead_poison = await read_raw(servers, f"{topic}.dlq", lambda r: r.value == poison.to_json())
        dead_garbage = await read_raw(servers, f"{topic}.dlq", lambda r: r.value == garbage)
        await reader.wait_for(lambda fact: fact.causationid == str(good[-1].id))
        rows = await effects_of(runtime)

    # The batch ran without savepoints until the poison failed it, then again with a savepoint
    # per message: all 19 handler runs of that pass (not the garbage's) shared one transaction.
    first_pass, isolated_pass = handler.transactions[:-19], handler.transactions[-19:]
    assert 1 <= len(first_pass) <= 19 and len(set(first_pass)) == 1
    assert len(set(isolated_pass)) == 1 and isolated_pass[0] != first_pass[0]
    # The 18 committed; the poison's row and escalation, both made in its savepoint before it
    # raised, did not.
    assert rows == [(e.id, incident, e.data.reason) for e in good]
    assert {fact.causationid for fact in reader.seen} == {str(e.id) for e in good}
    group = f"{prefix}kitbatch"
    assert headers_of(dead_poison) == {
        "dlq-reason": "PoisonMessage: the incident is unknown",
        "dlq-error-class": "PoisonMessage",
        "dlq-consumer-group": group,
        "dlq-original-topic": topic,
        "dlq-original-partition": str(dead_poison.partition),
        "dlq-original-offset": "6",
        "dlq-attempts": "1",
    }
    garbage_headers = headers_of(dead_garbage)
    assert garbage_headers["dlq-error-class"] == "EventParseError"
    assert garbage_headers["dlq-reason"].startswith("EventParseError: message is not JSON")
    assert garbage_headers["dlq-consumer-group"] == group
    assert garbage_headers["dlq-original-offset"] == "13"


async def test_a_redelivered_batch_has_no_second_effect(
    infra: Infra, fresh_database_url: str, kafka_topic_prefix: str
) -> None:
    prefix, servers = kafka_topic_prefix, infra.kafka_bootstrap_servers
    topic = f"{prefix}incidents"
    incident = f"again-{uuid4()}"
    batch = [reopened(incident, f"step {n}") for n in range(10)]
    marker = reopened(incident, "marker")
    await publish_all(servers, topic, keyed(batch))

    runtime = service_for(infra, fresh_database_url, prefix)
    async with consuming(runtime, Recorder()), EventReader(servers, [f"{prefix}sla"]) as reader:
        await reader.wait_for(lambda fact: fact.causationid == str(batch[-1].id))
        await publish_all(servers, topic, keyed([*batch, marker]))  # the same ids again
        # The relay publishes in commit order: any second fact would come before the marker's.
        await reader.wait_for(lambda fact: fact.causationid == str(marker.id))
        rows = await effects_of(runtime)

    handled = [*batch, marker]
    assert rows == [(e.id, incident, e.data.reason) for e in handled]
    assert Counter(fact.causationid for fact in reader.seen) == {str(e.id): 1 for e in handled}
    redelivered = runtime.metrics.registry.get_sample_value(
        "events_handled_total", {"event_type": "incident.reopened.v1", "outcome": "redelivered"}
    )
    assert redelivered == len(batch)


async def test_events_that_acts_if_refuses_are_skipped_without_a_transaction(
    infra: Infra, fresh_database_url: str, kafka_topic_prefix: str
) -> None:
    prefix, servers = kafka_topic_prefix, infra.kafka_bootstrap_servers
    incident = f"skip-{uuid4()}"
    events = [reopened(incident, reason) for reason in ("first", "skip", "skip", "last")]
    await publish_all(servers, f"{prefix}incidents", keyed(events))

    def not_skipped(data: EventData) -> bool:
        return not (isinstance(data, IncidentReopened) and data.reason == "skip")

    handler = Recorder()
    runtime = service_for(infra, fresh_database_url, prefix)
    async with (
        consuming(runtime, handler, acts_if=not_skipped),
        EventReader(servers, [f"{prefix}sla"]) as reader,
    ):
        await reader.wait_for(lambda fact: fact.causationid == str(events[-1].id))
        rows = await effects_of(runtime)
        async with runtime.sessions() as session:
            inboxed = set((await session.scalars(select(inbox.c.event_id))).all())

    kept = [events[0], events[-1]]
    assert rows == [(e.id, incident, e.data.reason) for e in kept]
    assert inboxed == {e.id for e in kept}  # the skipped left no inbox row: no claim was made
    assert sum(handler.attempts.values()) == 2


async def test_offsets_of_ignored_events_are_committed_though_no_batch_changed_anything(
    infra: Infra, fresh_database_url: str, kafka_topic_prefix: str
) -> None:
    # Batches of ignored events commit no offsets of their own; an idle poll commits them, so
    # the group's lag still comes to nothing and a restart does not read them all again.
    prefix, servers = kafka_topic_prefix, infra.kafka_bootstrap_servers
    topic = f"{prefix}incidents"
    events = [reopened(f"ignored-{uuid4()}", "skip") for _ in range(6)]
    await publish_all(servers, topic, keyed(events))

    def never(data: EventData) -> bool:
        return False

    handler = Recorder()
    runtime = service_for(infra, fresh_database_url, prefix)
    async with consuming(runtime, handler, acts_if=never):
        # The topic is new: its offsets run from 0, so all is committed when they sum to 6.
        async def all_committed() -> bool:
            committed = await committed_offsets(servers, f"{prefix}kitbatch")
            return committed.get(topic) == len(events)

        await eventually(all_committed)
    assert handler.attempts == Counter()
    assert await effects_of(runtime) == []


async def test_each_incident_is_handled_in_order_across_batches_and_partitions(
    infra: Infra, fresh_database_url: str, kafka_topic_prefix: str
) -> None:
    prefix, servers = kafka_topic_prefix, infra.kafka_bootstrap_servers
    topic = f"{prefix}incidents"
    await create_topic(servers, topic, partitions=3)
    incidents = incidents_on_every_partition(3, each=2)
    rounds = [keyed([reopened(i, str(n)) for i in incidents]) for n in range(12)]
    # Half waits before the consumer starts, half arrives while it runs; batches of at most 7.
    await publish_all(servers, topic, [m for messages in rounds[:6] for m in messages])

    handler = Recorder()
    runtime = service_for(infra, fresh_database_url, prefix, batch_size=7)
    rows: list[Effect] = []

    async def all_written() -> bool:
        rows[:] = await effects_of(runtime)
        return len(rows) == 72

    async with consuming(runtime, handler):
        await publish_all(servers, topic, [m for messages in rounds[6:] for m in messages])
        await eventually(all_written)

    for incident in incidents:
        assert [int(reason) for _, i, reason in rows if i == incident] == list(range(12))
    assert 72 / 7 <= len(set(handler.transactions)) < 72  # several messages per batch


async def test_a_consumer_that_gathers_applies_what_arrives_while_it_waits_in_one_batch(
    infra: Infra, fresh_database_url: str, kafka_topic_prefix: str
) -> None:
    # consumer_gather_ms: once the first event is fetched, the consumer waits (here a second, far
    # longer than publishing the rest takes) and applies what came meanwhile in the same batch.
    prefix, servers = kafka_topic_prefix, infra.kafka_bootstrap_servers
    topic = f"{prefix}incidents"
    incident = f"gathered-{uuid4()}"
    first, *rest = [reopened(incident, str(n)) for n in range(5)]
    handler = Recorder()
    runtime = service_for(infra, fresh_database_url, prefix, gather_ms=1000)

    async with consuming(runtime, handler):
        subscriber = runtime.broker.subscribers[0]
        assert isinstance(subscriber, LogicSubscriber) and subscriber.consumer is not None
        consumer = subscriber.consumer
        await publish_all(servers, topic, keyed([first]))

        async def first_fetched() -> bool:
            positions = [await consumer.position(tp) for tp in consumer.assignment()]
            return bool(sum(positions) == 1)

        await eventually(first_fetched)
        await publish_all(servers, topic, keyed(rest))

        async def all_written() -> bool:
            return len(await effects_of(runtime)) == 5

        await eventually(all_written)
        rows = await effects_of(runtime)

    assert [reason for _, _, reason in rows] == ["0", "1", "2", "3", "4"]
    assert len(set(handler.transactions)) == 1  # the first event waited for the other four


async def test_an_outage_is_waited_out_and_never_dead_lettered(
    infra: Infra, fresh_database_url: str, kafka_topic_prefix: str
) -> None:
    prefix, servers = kafka_topic_prefix, infra.kafka_bootstrap_servers
    topic = f"{prefix}incidents"
    incident = f"outage-{uuid4()}"
    before, outage = reopened(incident, "before"), reopened(incident, "outage")
    poison = reopened(incident, "poison")  # same key: dead-lettered after the outage's, if any
    await publish_all(servers, topic, keyed([before, outage]))

    handler = Recorder(outages=5)  # more than the in-place retries of a defect
    runtime = service_for(infra, fresh_database_url, prefix)
    async with consuming(runtime, handler):
        await eventually(lambda: handler.attempts[outage.id] == 6)
        await publish_all(servers, topic, keyed([poison]))
        dead = await read_raw_until(servers, f"{topic}.dlq", lambda r: r.value == poison.to_json())
        rows = await effects_of(runtime)

    assert rows == [(before.id, incident, "before"), (outage.id, incident, "outage")]
    assert [record.value for record in dead] == [poison.to_json()]  # the outage's never came
    metric = runtime.metrics.registry.get_sample_value
    assert metric("consumer_batch_retries_total", {"topic": "incidents"}) == 5
    # Counted once committed: the rolled-back attempts of "before" were not handled.
    handled = {"event_type": "incident.reopened.v1", "outcome": "handled"}
    assert metric("events_handled_total", handled) == 2
