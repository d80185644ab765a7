"""Changes a handler makes with `driver.write` are held for its batch and run after each round:
each kind once for the round, in one round trip, whatever the number of incidents; the next
event of an incident reads what the one before wrote; a change the database refuses is undone
and dead-lettered with its message alone; and outside a batch a write runs at once."""

from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from aiokafka.structs import ConsumerRecord
from incident_events import Event
from incident_events.incidents import IncidentReopened
from incident_kit import driver
from incident_kit.batch import BatchApplier, Received
from incident_kit.database import create_engine, create_session_factory, service_metadata
from incident_kit.errors import PoisonMessage
from incident_kit.inbox import inbox_table
from incident_kit.outbox import outbox_table
from integration.kit.support import create_tables, record_of, reopened, reopenings_applier
from sqlalchemy import CheckConstraint, Column, Integer, Table, Text, bindparam, select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

pytestmark = pytest.mark.integration
metadata = service_metadata("kitheld")
outbox = outbox_table(metadata)
inbox = inbox_table(metadata)
# What the handler changes: per incident, how many of its events it has seen, and their reasons.
seen = Table(
    "seen",
    metadata,
    Column("incident_id", Text, primary_key=True),
    Column("events", Integer, nullable=False),
    Column(
        "reasons",
        Text,
        CheckConstraint("reasons NOT LIKE '%refused%'", name="nothing_refused"),
        nullable=False,
    ),
)
_COUNT = insert(seen).values(
    incident_id=bindparam("incident_id"), events=1, reasons=bindparam("reason")
)
COUNT = _COUNT.on_conflict_do_update(
    index_elements=[seen.c.incident_id],
    set_={"events": seen.c.events + 1, "reasons": seen.c.reasons + "," + _COUNT.excluded.reasons},
)
EVENTS_SEEN = select(seen.c.events).where(seen.c.incident_id == bindparam("incident_id"))


class Counting:
    """Reads how many events of its incident were seen before (held changes included), then
    counts this one with a held write; a reason "poison" is refused after its write. Notes every
    statement its batches' connection runs."""

    def __init__(self) -> None:
        self.seen_before: list[tuple[str, str, int]] = []  # (incident, reason, events before)
        self.statements: list[str] = []
        self._logged: set[int] = set()

    async def __call__(self, received: Received) -> None:
        session = received.session
        await self._log_statements(session)
        data = received.event.data
        assert isinstance(data, IncidentReopened)
        rows = await driver.fetch(session, EVENTS_SEEN, {"incident_id": data.incident_id})
        self.seen_before.append((data.incident_id, data.reason, rows[0].events if rows else 0))
        await driver.write(session, COUNT, {"incident_id": data.incident_id, "reason": data.reason})
        if data.reason == "poison":
            raise PoisonMessage("refused after writing")

    async def _log_statements(self, session: AsyncSession) -> None:
        connection = await driver.connection_of(session)
        if id(connection) not in self._logged:
            self._logged.add(id(connection))
            connection.add_query_logger(lambda logged: self.statements.append(logged.query))


@pytest.fixture
async def sessions(fresh_database_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    """Sessions on a fresh database with the test's tables."""
    engine = create_engine(fresh_database_url, application_name="kitheld")
    await create_tables(engine, metadata)
    try:
        yield create_session_factory(engine)
    finally:
        await engine.dispose()


def records_of(events: list[Event[IncidentReopened]]) -> list[ConsumerRecord[bytes, bytes]]:
    """The events as two partitions deliver them, alternately."""
    return [record_of(event, offset, partition=offset % 2) for offset, event in enumerate(events)]


def applier_of(sessions: async_sessionmaker[AsyncSession], handle: Counting) -> BatchApplier:
    return reopenings_applier("kitheld", handle, sessions, inbox=inbox, outbox=outbox)


async def stored(sessions: async_sessionmaker[AsyncSession]) -> dict[str, tuple[int, str]]:
    async with sessions() as session:
        rows = await session.execute(select(seen.c.incident_id, seen.c.events, seen.c.reasons))
        return {incident: (events, reasons) for incident, events, reasons in rows}


def times(statements: list[str], matching: Callable[[str], bool]) -> int:
    return sum(1 for statement in statements if matching(statement))


async def test_a_batchs_held_changes_run_once_a_round_and_each_incident_reads_its_own(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    counting = Counting()
    incidents = [f"held-{n}" for n in range(5)]
    # Each incident's first event, then its second, then (for two) a third, interleaved as two
    # partitions deliver them.
    events = [reopened(incident, "first") for incident in incidents]
    events += [reopened(incident, "second") for incident in reversed(incidents)]
    events += [reopened(incident, "third") for incident in incidents[:2]]
    applied = await applier_of(sessions, counting).apply(records_of(events))
    result = await stored(sessions)

    assert applied.dead == []
    # Each event read every earlier event of its incident, written by held changes.
    assert sorted(counting.seen_before) == sorted(
        [(incident, "first", 0) for incident in incidents]
        + [(incident, "second", 1) for incident in incidents]
        + [(incident, "third", 2) for incident in incidents[:2]]
    )
    assert result == {
        incident: (3, "first,second,third") if incident in incidents[:2] else (2, "first,second")
        for incident in incidents
    }
    # Twelve changes in three round trips: one per round, where each ran alone before.
    assert times(counting.statements, lambda sql: sql.startswith("INSERT INTO kitheld.seen")) == 3
    assert times(counting.statements, lambda sql: "FROM kitheld.seen" in sql) == 12


async def test_a_held_change_the_database_refuses_is_dead_lettered_with_its_message_alone(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    events = [
        reopened("held-a", "fine"),
        reopened("held-b", "refused by the check"),  # held, then refused when the round runs
        reopened("held-c", "poison"),  # held, then the handler fails: its change is dropped
        reopened("held-d", "fine"),
    ]
    applied = await applier_of(sessions, Counting()).apply(records_of(events))
    result = await stored(sessions)

    dead: dict[str, Any] = {letter.record.key.decode(): letter for letter in applied.dead}
    assert sorted(dead) == ["held-b", "held-c"]
    assert getattr(dead["held-b"].error.orig, "sqlstate", None) == "23514"  # check violation
    assert result == {"held-a": (1, "fine"), "held-d": (1, "fine")}


async def test_outside_a_batch_a_write_runs_at_once(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with sessions.begin() as session:
        await driver.write(session, COUNT, {"incident_id": "api", "reason": "by hand"})
        (row,) = await driver.fetch(session, EVENTS_SEEN, {"incident_id": "api"})
        assert row.events == 1
    async with sessions() as session:
        assert (await session.execute(text("SELECT count(*) FROM kitheld.seen"))).scalar() == 1
