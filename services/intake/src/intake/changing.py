"""Changing a stored incident in one transaction: lock it, let the domain decide, save the new
state, keep the facts in its timeline and put them in the outbox. Status changes, comments and
amendments all go this way; only what the domain decides differs."""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from incident_events import new_event
from incident_kit.errors import sqlstate_of
from incident_kit.outbox import add_events
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from intake import domain, repository
from intake.domain import Incident, Outcome
from intake.storing import SOURCE
from intake.tables import outbox

UNIQUE_VIOLATION = "23505"

Decision = Callable[[Incident], Outcome]


class IncidentNotFound(LookupError):
    pass


class DedupKeyTaken(Exception):
    """Reopening would give the dedup_key two open incidents: a newer one holds it now."""

    def __init__(self, dedup_key: str) -> None:
        super().__init__(f"an open incident holds the dedup_key {dedup_key!r}")
        self.dedup_key = dedup_key


@dataclass(frozen=True)
class Change:
    incident_id: str
    decide: Decision
    now: datetime


async def apply_change(sessions: async_sessionmaker[AsyncSession], change: Change) -> Outcome:
    """The outcome once committed; the domain's refusals pass through unchanged."""
    async with sessions.begin() as session:
        incident = await repository.lock_incident(session, incident_id=change.incident_id)
        if incident is None:
            raise IncidentNotFound(change.incident_id)
        outcome = change.decide(incident)
        # The facts go in even if the row stays as it was (a second comment in the same instant).
        await _record(session, incident, outcome, change.now)
        events = [
            new_event(fact, source=SOURCE, now=change.now, correlation_id=incident.incident_id)
            for fact in outcome.events
        ]
        await add_events(session, outbox, events)
    return outcome


async def _record(session: AsyncSession, before: Incident, outcome: Outcome, now: datetime) -> None:
    after = outcome.incident
    saving = after if after != before else None
    try:
        await repository.record_change(
            session, saving=saving, facts=outcome.timeline_facts, now=now
        )
    except IntegrityError as error:
        # Only reopening can collide with the open-incident dedup_key index; the transaction
        # rolls back and the caller hears why.
        reopens = not domain.is_open(before.status) and domain.is_open(after.status)
        if not (reopens and after.dedup_key and sqlstate_of(error) == UNIQUE_VIOLATION):
            raise
        raise DedupKeyTaken(after.dedup_key) from error
