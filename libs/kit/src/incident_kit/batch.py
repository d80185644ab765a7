"""Applying a batch of Kafka records: one transaction, and a savepoint per message when needed.

The events a handler acts on are claimed in the inbox with one statement; the handler runs only
for the first delivery of each, in offset order per incident. The batch runs in rounds: the
first event of each incident, then the second of each that has one, and so on; within a round,
incidents in the order of their ids. A handler locks its incident's rows, and two batches of one
service (in two of its processes) that lock the same incidents in opposite orders deadlock.
PostgreSQL then stalls both for its deadlock_timeout (1 s) before it undoes one; in ascending
order, one simply waits for the other.

Optimistically the whole batch runs without savepoints (two statements per message saved). The
changes its handlers make with `incident_kit.driver.write` (those whose rows they do not read)
are held and run after each round, each kind as one round trip for the round: before the next
event of an incident is handled, whatever the one before wrote is there to read. What the
handlers emit goes to the outbox at the batch's end, in one statement. When a message fails,
the batch is rolled back and run again with a savepoint per message, each message's held
changes run within it, so the failing message, and what it wrote and emitted, is undone alone
while the rest of the batch commits. Poison is returned to the caller to dead-letter after the
commit; an infrastructure error rolls the whole batch back and propagates, to be retried.
"""

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TypeAlias

from aiokafka.structs import ConsumerRecord
from incident_events import Event, EventData, follow_up, new_event, parse_event
from sqlalchemy import Table
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from incident_kit import driver
from incident_kit.clock import Clock
from incident_kit.dead_letter import DeadLetter
from incident_kit.errors import backoff_seconds, is_infrastructure_error, is_poison
from incident_kit.inbox import claim_events, release_claim
from incident_kit.logs import bind_context, clear_context, trace_id_of
from incident_kit.metrics import ServiceMetrics
from incident_kit.outbox import add_events

log = logging.getLogger(__name__)
Record: TypeAlias = ConsumerRecord[bytes, bytes]


@dataclass
class Received:
    """One event as its handler sees it: first delivered, inside its batch's transaction."""

    event: Event[EventData]
    session: AsyncSession
    now: datetime
    source: str
    _after_commit: list[Callable[[], None]] = field(default_factory=list)
    _emitted: list[Event[EventData]] = field(default_factory=list)

    async def emit(self, facts: Iterable[EventData]) -> None:
        """Record facts to publish if the batch commits. A fact about this incident follows its
        cause (correlation and trace kept); one about another incident starts that one's flow
        and names the cause. They reach the outbox with the batch's other events, in order."""
        self._emitted.extend(
            follow_up(self.event, fact, source=self.source, now=self.now)
            if fact.incident_id == self.event.subject
            else new_event(fact, source=self.source, now=self.now, causation_id=str(self.event.id))
            for fact in facts
        )

    def after_commit(self, callback: Callable[[], None]) -> None:
        """Run `callback` once the batch has committed (metrics, waking a worker)."""
        self._after_commit.append(callback)


EventHandler = Callable[[Received], Awaitable[None]]


@dataclass(frozen=True)
class Applied:
    """What a batch came to: the messages to dead-letter, and whether it changed anything
    (a transaction ran, or a message is to be dead-lettered); one that did not holds only
    events this service ignores."""

    dead: list[DeadLetter]
    changed: bool


def _in_rounds(
    wanted: Sequence[tuple[Record, Event[EventData]]],
) -> list[list[tuple[Record, Event[EventData]]]]:
    """The events in rounds (see the module docstring): round k holds the k-th event of each
    incident that has one, in offset order per incident, incidents in ascending order."""
    rounds: list[list[tuple[Record, Event[EventData]]]] = []
    seen: dict[str, int] = {}
    for received in wanted:
        subject = received[1].subject
        index = seen.get(subject, 0)
        seen[subject] = index + 1
        if index == len(rounds):
            rounds.append([])
        rounds[index].append(received)
    for events in rounds:
        events.sort(key=lambda received: received[1].subject)  # stable: offset order kept
    return rounds


class _IsolateMessages(Exception):
    """A message failed in the optimistic pass: run the batch again, a savepoint per message."""


@contextlib.contextmanager
def _defects_isolate() -> Iterator[None]:
    """In the optimistic pass, a defect (a handler's failure, a change the database refuses)
    runs the batch again isolated; an infrastructure error propagates, to be waited out."""
    try:
        yield
    except Exception as error:
        if is_infrastructure_error(error):
            raise
        raise _IsolateMessages from error


@dataclass(frozen=True)
class BatchApplier:
    """Applies batches of one topic for one consumer (the service), with its handler."""

    consumer: str
    handle: EventHandler
    acts_on: tuple[type[EventData], ...]
    sessions: async_sessionmaker[AsyncSession]
    inbox: Table
    outbox: Table
    clock: Clock
    metrics: ServiceMetrics
    source: str
    retries: int
    # Of the events `acts_on` names, those the handler would leave as they are (say, one kind of
    # clock of several): skipped like other types, with no transaction or inbox row for them.
    acts_if: Callable[[EventData], bool] = lambda data: True

    async def apply(self, records: Sequence[Record]) -> Applied:
        """Apply the batch and commit; returns the messages to dead-letter, and whether the batch
        changed anything."""
        parsed, dead = self._parse(records)
        wanted = [
            (r, e) for r, e in parsed if isinstance(e.data, self.acts_on) and self.acts_if(e.data)
        ]
        rounds = _in_rounds(wanted)
        callbacks: list[Callable[[], None]] = []
        if wanted:
            try:
                await self._transaction(rounds, dead, callbacks, isolated=False)
            except _IsolateMessages:
                callbacks.clear()
                await self._transaction(rounds, dead, callbacks, isolated=True)
        clear_context()
        for callback in callbacks:
            callback()
        return Applied(dead, changed=bool(wanted) or bool(dead))

    async def _transaction(
        self,
        rounds: list[list[tuple[Record, Event[EventData]]]],
        dead: list[DeadLetter],
        callbacks: list[Callable[[], None]],
        *,
        isolated: bool,
    ) -> None:
        """Claim and apply the wanted events in one transaction; `isolated`: a savepoint each."""
        async with self.sessions() as session, session.begin():
            driver.hold_writes(session)
            claimed = await claim_events(
                session,
                self.inbox,
                consumer=self.consumer,
                # In the order of their incidents, as the handlers lock them.
                events=sorted((e for events in rounds for _, e in events), key=lambda e: e.subject),
            )
            emitted: list[Event[EventData]] = []  # the optimistic pass's, inserted at its end
            for events in rounds:
                for record, event in events:
                    if event.id not in claimed:
                        callbacks.append(self._count(event.type, "redelivered"))
                        continue
                    claimed.discard(event.id)  # a duplicate within the batch is handled once
                    if not isolated:
                        emitted += await self._apply_optimistically(session, event, callbacks)
                        continue
                    letter = await self._apply_one(session, record, event, callbacks)
                    if letter is not None:
                        await release_claim(
                            session, self.inbox, consumer=self.consumer, event_id=event.id
                        )
                        dead.append(letter)
                # The round's held changes (in the isolated pass, each message ran its own).
                with _defects_isolate():
                    await driver.run_held(session)
            # The optimistic pass's events, one statement for the batch.
            with _defects_isolate():
                await add_events(session, self.outbox, emitted)

    async def _apply_optimistically(
        self, session: AsyncSession, event: Event[EventData], callbacks: list[Callable[[], None]]
    ) -> list[Event[EventData]]:
        """Run the handler with no savepoint; any defect restarts the batch isolated. Returns
        what it emitted."""
        self._bind(event)
        received = Received(event, session, self.clock.now(), self.source)
        with _defects_isolate():
            await self.handle(received)
        callbacks.extend(received._after_commit)
        callbacks.append(self._count(event.type, "handled"))
        return received._emitted

    def _parse(
        self, records: Sequence[Record]
    ) -> tuple[list[tuple[Record, Event[EventData]]], list[DeadLetter]]:
        parsed: list[tuple[Record, Event[EventData]]] = []
        dead: list[DeadLetter] = []
        for record in records:
            try:
                parsed.append((record, parse_event(record.value or b"")))
            except Exception as error:
                if not is_poison(error):
                    raise
                dead.append(DeadLetter(record, error, attempts=1))
        return parsed, dead

    async def _apply_one(
        self,
        session: AsyncSession,
        record: Record,
        event: Event[EventData],
        callbacks: list[Callable[[], None]],
    ) -> DeadLetter | None:
        """Run the handler in a savepoint, retrying a defect in place a few times."""
        self._bind(event)
        for attempt in range(1, self.retries + 2):
            received = Received(event, session, self.clock.now(), self.source)
            try:
                async with session.begin_nested():
                    await self.handle(received)
                    await driver.run_held(session)
                    await add_events(session, self.outbox, received._emitted)
            except Exception as error:
                driver.drop_held(session)  # the attempt's, undone with its savepoint
                if is_infrastructure_error(error):
                    raise
                if is_poison(error) or attempt > self.retries:
                    callbacks.append(self._count(event.type, "dead_lettered"))
                    return DeadLetter(record, error, attempts=attempt)
                log.warning("handler failed, retrying in place", extra={"attempt": attempt})
                await asyncio.sleep(backoff_seconds(attempt, base=0.05, cap=1.0))
                continue
            callbacks.extend(received._after_commit)
            callbacks.append(self._count(event.type, "handled"))
            return None
        raise AssertionError("unreachable: the last attempt returns")

    def _bind(self, event: Event[EventData]) -> None:
        bind_context(
            incident_id=event.subject,
            event_type=event.type,
            event_id=str(event.id),
            correlation_id=event.correlationid,
            trace_id=trace_id_of(event.traceparent),
        )

    def _count(self, event_type: str, outcome: str) -> Callable[[], None]:
        # Counted once the batch commits: attempts rolled back by an outage are not outcomes.
        return self.metrics.events_handled.labels(event_type, outcome).inc
