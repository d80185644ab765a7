"""Reporting incidents a group at a time, in one transaction per group: claim the group's
Idempotency-Keys, store its customers, its new incidents and their `incident.reported.v1`
events, all with multi-row statements. Each report still gets its own answer: a new incident,
a replay of its key, the open incident holding its dedup_key, or its own error.

A group whose transaction fails is retried one report per transaction, so a report the database
refuses fails alone; a lost database connection is every report's answer (503).
"""

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from uuid import uuid4

from incident_events import new_event
from incident_events.incidents import CustomerRef
from incident_kit.outbox import add_events
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from intake import domain, repository
from intake.domain import CustomerDetails, Incident, IncidentReport
from intake.metrics import IntakeMetrics
from intake.repository import KeyClaim
from intake.tables import outbox

SOURCE = "/intake"
# An open duplicate can be resolved between our skipped insert and our lookup; try again then.
DEDUP_ATTEMPTS = 3
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ReportOutcome:
    incident: Incident
    deduplicated_via: str | None  # None: a new incident; else idempotency_key or dedup_key

    @property
    def created(self) -> bool:
        return self.deduplicated_via is None


@dataclass(frozen=True)
class Submission:
    """One POSTed report waiting for its group's transaction."""

    report: IncidentReport
    fingerprint: str
    idempotency_key: str | None
    now: datetime


# IdempotencyKeyReused, or an error of this report alone, is answered rather than raised.
Answer = ReportOutcome | Exception


async def report_incidents(
    sessions: async_sessionmaker[AsyncSession],
    submissions: Sequence[Submission],
    *,
    metrics: IntakeMetrics,
) -> list[Answer]:
    """One answer per submission, in order, once their transaction has committed."""
    try:
        return await _in_one_transaction(sessions, submissions, metrics)
    except Exception as error:
        if len(submissions) == 1 or _connection_lost(error):
            raise
        log.warning("a group of %d reports failed: %r", len(submissions), error)
    metrics.group_commit_fallbacks.inc()
    return [await _alone(sessions, submission, metrics) for submission in submissions]


async def _in_one_transaction(
    sessions: async_sessionmaker[AsyncSession],
    submissions: Sequence[Submission],
    metrics: IntakeMetrics,
) -> list[Answer]:
    try:
        async with sessions.begin() as session:
            answers = await _report_group(session, submissions)
    except OSError as error:
        # asyncpg raises a refused connection bare; like a lost one, it is answered 503.
        raise OperationalError(None, None, error, connection_invalidated=True) from error
    metrics.group_commit_size.observe(len(submissions))
    return answers


async def _alone(
    sessions: async_sessionmaker[AsyncSession], submission: Submission, metrics: IntakeMetrics
) -> Answer:
    try:
        return (await _in_one_transaction(sessions, [submission], metrics))[0]
    except Exception as error:  # this report's own failure: its answer, not the group's
        return error


def _connection_lost(error: Exception) -> bool:
    return isinstance(error, DBAPIError) and error.connection_invalidated


async def _report_group(session: AsyncSession, submissions: Sequence[Submission]) -> list[Answer]:
    owners = domain.first_occurrences(s.idempotency_key for s in submissions)
    claims = [
        KeyClaim(key, submissions[i].fingerprint, submissions[i].now) for key, i in owners.items()
    ]
    claimed = await repository.claim_idempotency_keys(session, claims=claims) if claims else set()
    # Reports without a key, and first uses of their key, are stored; the rest are retries.
    storing = [
        i
        for i, s in enumerate(submissions)
        if s.idempotency_key is None
        or (s.idempotency_key in claimed and owners[s.idempotency_key] == i)
    ]
    stored = dict(
        zip(storing, await _store(session, [submissions[i] for i in storing]), strict=True)
    )
    bound = {key: stored[owners[key]].incident.incident_id for key in claimed}
    if bound:
        await repository.bind_idempotency_keys(session, incident_ids=bound)
    replays = await _replays(session, submissions, owners, claimed, stored)
    return [stored[i] if i in stored else replays[i] for i in range(len(submissions))]


async def _replays(
    session: AsyncSession,
    submissions: Sequence[Submission],
    owners: dict[str, int],
    claimed: set[str],
    stored: dict[int, ReportOutcome],
) -> dict[int, Answer]:
    """Each retry judged against its key's first request: the same body gets that incident,
    another body a 422. The first request is in this group, or committed before it."""
    earlier = set(owners) - claimed
    records = await repository.replays_of(session, keys=earlier) if earlier else {}
    answers: dict[int, Answer] = {}
    for i, submission in enumerate(submissions):
        key = submission.idempotency_key
        if key is None or i in stored:
            continue
        if key in claimed:
            fingerprint = submissions[owners[key]].fingerprint
            incident: Incident | None = stored[owners[key]].incident
        else:  # a key without a record vanished between our claim and this lookup
            fingerprint, incident = records.get(key, ("", None))
        if fingerprint != submission.fingerprint:
            answers[i] = domain.IdempotencyKeyReused(key)
        elif incident is None:
            answers[i] = RuntimeError(f"idempotency key {key!r} points at no incident")
        else:
            answers[i] = ReportOutcome(incident, deduplicated_via="idempotency_key")
    return answers


async def _store(session: AsyncSession, submissions: Sequence[Submission]) -> list[ReportOutcome]:
    """Customers, new incidents and their events; reports repeating a dedup_key of the group
    or of an open incident get that incident."""
    if not submissions:
        return []
    details = domain.merge_customer_details(s.report.customer for s in submissions)
    customers = await _store_customers(session, details, now=max(s.now for s in submissions))
    leaders = domain.first_occurrences(s.report.dedup_key for s in submissions)
    firsts = [
        i
        for i, s in enumerate(submissions)
        if s.report.dedup_key is None or leaders[s.report.dedup_key] == i
    ]
    outcomes = await _insert_incidents(session, submissions, firsts, customers)
    events = [
        new_event(
            domain.reported(o.incident),
            source=SOURCE,
            now=submissions[i].now,
            correlation_id=o.incident.incident_id,
        )
        for i, o in outcomes.items()
        if o.created
    ]
    await add_events(session, outbox, events)
    # A later report with a dedup_key of the group gets what the first one got.
    return [
        outcomes.get(i)
        or ReportOutcome(outcomes[leaders[s.report.dedup_key or ""]].incident, "dedup_key")
        for i, s in enumerate(submissions)
    ]


async def _store_customers(
    session: AsyncSession, details: Sequence[CustomerDetails], *, now: datetime
) -> dict[str, CustomerRef]:
    """Each customer as stored after the group's details are applied, writing only the rows
    that change. Looking first only spares locks; conflicts are still settled by the writes."""
    known = await repository.get_customers(session, customer_ids=[d.customer_id for d in details])
    missing = [domain.new_customer(d) for d in details if d.customer_id not in known]
    inserted = (
        await repository.insert_customers(session, customers=missing, now=now) if missing else {}
    )
    # Changed, or stored by a concurrent group since we looked: compared again under lock.
    stale = [
        d
        for d in details
        if d.customer_id not in inserted
        and (d.customer_id not in known or domain.customer_changed(known[d.customer_id], d))
    ]
    updated = await repository.update_customers(session, details=stale, now=now) if stale else {}
    # What a concurrent group stored meanwhile, already saying what our reports say.
    unsettled = [d.customer_id for d in stale if d.customer_id not in updated]
    settled = await repository.get_customers(session, customer_ids=unsettled) if unsettled else {}
    return {**known, **inserted, **updated, **settled}


async def _insert_incidents(
    session: AsyncSession,
    submissions: Sequence[Submission],
    positions: Sequence[int],
    customers: dict[str, CustomerRef],
) -> dict[int, ReportOutcome]:
    """The outcome of each report at `positions`: its new incident, or the open incident that
    already holds its dedup_key."""
    outcomes: dict[int, ReportOutcome] = {}
    pending = list(positions)
    for _ in range(DEDUP_ATTEMPTS):
        numbers = await repository.next_reference_numbers(session, count=len(pending))
        drafts = {
            i: domain.new_incident(
                submissions[i].report,
                incident_id=str(uuid4()),
                reference=domain.format_reference(number),
                customer=customers[submissions[i].report.customer.customer_id],
                now=submissions[i].now,
            )
            for i, number in zip(pending, numbers, strict=True)
        }
        inserted = await repository.insert_incidents(session, incidents=list(drafts.values()))
        outcomes |= {
            i: ReportOutcome(d, None) for i, d in drafts.items() if d.incident_id in inserted
        }
        skipped = {i: submissions[i].report.dedup_key or "" for i in pending if i not in outcomes}
        if not skipped:
            return outcomes
        holders = await repository.open_incidents_by_dedup_key(
            session, dedup_keys=set(skipped.values())
        )
        outcomes |= {
            i: ReportOutcome(holders[key], "dedup_key")
            for i, key in skipped.items()
            if key in holders
        }
        pending = [i for i in skipped if i not in outcomes]
        if not pending:
            return outcomes
    raise RuntimeError(f"dedup_keys {sorted(skipped.values())} kept colliding")
