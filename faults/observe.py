"""Watching one scenario's effects: whether the stack has settled (everything acknowledged has
gone all the way through, nothing left to publish, consume or send), and afterwards, every
effect observed, read from each service's schema, the topics and the mail directory."""

import asyncio
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime

import asyncpg
from aiokafka.errors import KafkaError
from incident_devstack.postgres import asyncpg_dsn
from incident_events import EventParseError, parse_event
from incident_events.routing import IncidentAssigned
from incident_events.sla import SlaBreached, SlaClockStarted

from faults.checks import DeadLetterSeen, Observed
from faults.load import LoadRecord, title_of
from faults.mailbox import Mailbox
from faults.poison import MARKER_HEADER, Poison
from faults.topics import (
    DEAD_LETTER_TOPICS,
    EFFECT_TOPICS,
    KafkaRecord,
    Offsets,
    consumer_lag,
    end_offsets,
    records_since,
)

SCHEMAS = ("intake", "router", "sla", "notifier")
DLQS = frozenset(DEAD_LETTER_TOPICS)
QUERY_TIMEOUT_S = 10.0

# One query per condition: how many of the acknowledged incidents ($1) got this far.
PROGRESS = {
    "intake assignee": "SELECT count(*) FROM intake.incidents"
    " WHERE incident_id = any($1) AND assignee_agent_id IS NOT NULL",
    "router assigned": "SELECT count(*) FROM router.assignments"
    " WHERE incident_id = any($1) AND status = 'assigned'",
    "sla clocks": "SELECT count(DISTINCT incident_id) FROM sla.clocks WHERE incident_id = any($1)",
    "ack delivered": "SELECT count(*) FROM notifier.deliveries WHERE incident_id = any($1)"
    " AND template = 'acknowledgement' AND status = 'delivered'",
}


@dataclass
class Watch:
    """Where a scenario began: Kafka end offsets and the newest mail, before its first POST."""

    database_url: str
    bootstrap_servers: str
    offsets: Offsets
    mailbox: Mailbox

    async def settled(self, ids: list[str]) -> str | None:
        """None once the stack has settled for `ids`; else what it is still waiting for."""
        try:
            async with asyncio.timeout(QUERY_TIMEOUT_S):
                return await self._waiting_for(ids)
        except (
            OSError,
            TimeoutError,
            KafkaError,
            asyncpg.PostgresError,
            asyncpg.InterfaceError,
        ) as error:
            return f"unreachable: {type(error).__name__}"

    async def _waiting_for(self, ids: list[str]) -> str | None:
        connection = await asyncpg.connect(asyncpg_dsn(self.database_url))
        try:
            for what, query in PROGRESS.items():
                if (done := await connection.fetchval(query, ids)) < len(ids):
                    return f"{what}: {done}/{len(ids)}"
            for schema in SCHEMAS:
                query = f"SELECT count(*) FROM {schema}.outbox WHERE published_at IS NULL"
                if unpublished := await connection.fetchval(query):
                    return f"{schema} outbox: {unpublished} unpublished"
            query = "SELECT count(*) FROM notifier.deliveries WHERE status = 'pending'"
            if pending := await connection.fetchval(query):
                return f"notifier: {pending} deliveries pending"
        finally:
            await connection.close()
        mailed = self.mailbox.messages_by_incident()
        if unmailed := sum(1 for incident in ids if incident not in mailed):
            return f"mail: {unmailed} acknowledgements not received"
        if lag := await consumer_lag(self.bootstrap_servers):
            return f"consumers: {lag} records behind"
        return None

    async def observe(self, load: LoadRecord, poison: list[Poison]) -> Observed:
        ids = list(load.acknowledged.values())
        connection = await asyncpg.connect(asyncpg_dsn(self.database_url))
        try:
            intake = await _intake_rows(connection, list(load.acknowledged))
            assigned = await connection.fetch(
                "SELECT incident_id FROM router.assignments"
                " WHERE incident_id = any($1) AND status = 'assigned'",
                ids,
            )
            clocks = await connection.fetch(
                "SELECT incident_id, metric, due_at FROM sla.clocks WHERE incident_id = any($1)",
                ids,
            )
        finally:
            await connection.close()
        topics = EFFECT_TOPICS + DEAD_LETTER_TOPICS
        records = await records_since(self.bootstrap_servers, topics, self.offsets)
        events = _effect_events(records)
        now = datetime.now(UTC)
        clock_rows: dict[str, set[str]] = defaultdict(set)
        for row in clocks:
            clock_rows[row["incident_id"]].add(row["metric"])
        return Observed(
            acknowledged=dict(load.acknowledged),
            intake_rows=intake,
            assigned_rows={row["incident_id"] for row in assigned},
            assigned_events=dict(events.assigned),
            clock_rows=dict(clock_rows),
            clock_events=dict(events.clock_started),
            breach_due={(r["incident_id"], r["metric"]) for r in clocks if r["due_at"] <= now},
            breach_events=dict(events.breached),
            mails=self.mailbox.messages_by_incident(),
            dead_letters=[_dead_letter(r.topic, r.headers) for r in records if r.topic in DLQS],
            poison_must_park={p.marker: p.must_park_in for p in poison},
        )


async def open_watch(database_url: str, bootstrap_servers: str, mailbox: Mailbox) -> Watch:
    offsets = await end_offsets(bootstrap_servers, EFFECT_TOPICS + DEAD_LETTER_TOPICS)
    return Watch(database_url, bootstrap_servers, offsets, mailbox)


async def _intake_rows(connection: asyncpg.Connection, keys: list[str]) -> dict[str, list[str]]:
    """Key -> the incidents intake holds under the title the key's body carries."""
    titles = {title_of(key): key for key in keys}
    rows = await connection.fetch(
        "SELECT title, incident_id FROM intake.incidents WHERE title = any($1)", list(titles)
    )
    found: dict[str, list[str]] = defaultdict(list)
    for row in rows:
        found[titles[row["title"]]].append(row["incident_id"])
    return dict(found)


@dataclass
class EffectEvents:
    """Distinct event ids of each effect on Kafka (a republished event keeps its id)."""

    assigned: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    clock_started: dict[tuple[str, str], set[str]] = field(default_factory=lambda: defaultdict(set))
    breached: dict[tuple[str, str], set[str]] = field(default_factory=lambda: defaultdict(set))


def _effect_events(records: list[KafkaRecord]) -> EffectEvents:
    found = EffectEvents()
    for record in records:
        if record.topic not in EFFECT_TOPICS:
            continue
        try:
            event = parse_event(record.value)
        except EventParseError:
            continue  # poison injected on the topic; the dead letters account for it
        data, event_id = event.data, str(event.id)
        if isinstance(data, IncidentAssigned):
            found.assigned[data.incident_id].add(event_id)
        elif isinstance(data, SlaClockStarted):
            found.clock_started[(data.incident_id, data.metric.value)].add(event_id)
        elif isinstance(data, SlaBreached):
            found.breached[(data.incident_id, data.metric.value)].add(event_id)
    return found


def _dead_letter(topic: str, headers: dict[str, str]) -> DeadLetterSeen:
    return DeadLetterSeen(
        topic=topic,
        group=headers.get("dlq-consumer-group", "?"),
        poison_marker=headers.get(MARKER_HEADER),
        error_class=headers.get("dlq-error-class", "?"),
    )
