"""Reporting incidents a group at a time, in one transaction per group: claim the group's
Idempotency-Keys (each client's own) with one statement, store the first use of each key and
the reports without one (`storing`), and answer each report on its own: a new incident, a
replay of its key, the open incident holding its client's dedup_key, or its own error.

Groups commit on a pool of their own (`report_engine`), its connections set up for their
statements. A group whose transaction fails is retried one report per transaction, so a report
the database refuses fails alone; an unavailable database is every report's answer (503,
Retry-After).
"""

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from incident_kit.database import create_engine
from incident_kit.errors import is_infrastructure_error, redacted_reason, sqlstate_of
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from intake import domain, repository
from intake.config import IntakeSettings
from intake.domain import Client, Incident, IncidentReport
from intake.metrics import IntakeMetrics
from intake.reference_numbers import ReferenceNumbers
from intake.repository import ClientKey, KeyClaim
from intake.storing import ReportOutcome, store_reports

log = logging.getLogger(__name__)
# A group's statements take their rows as arrays. Left to choose, PostgreSQL plans them anew on
# every execution (their generic plan looks dearer, not knowing the arrays' lengths), which cost
# it several times what executing them did; one plan serves every group. Only for the groups'
# own connections: a range predicate elsewhere (`next_fire_at <= $1`) wants a plan for its value.
# And through the keys' indexes: that one plan is made at a connection's first execution, and
# made while the tables were nearly empty (a fresh database) it read them whole, on every
# group, as they grew, until autovacuum's next ANALYZE: in the first 16 s of a fresh intake,
# 1,168 whole reads of customer_identities, 6.2 million rows. Every statement of a group finds
# rows by a key that has an index. Set once per connection, where setting them in each group's
# transaction cost each group a statement.
GROUP_SETTINGS = {"plan_cache_mode": "force_generic_plan", "enable_seqscan": "off"}


def report_engine(settings: IntakeSettings, *, application_name: str) -> AsyncEngine:
    """The pool the groups of reports commit on, its connections set up for them
    (GROUP_SETTINGS). Make its sessions `like` the runtime's, so that their commits wake the
    relay."""
    return create_engine(
        settings.database_url,
        application_name=application_name,
        # The HTTP reports' groups and the channels' groups, each so many at once.
        pool_size=2 * settings.group_commit_max_in_flight,
        pool_timeout_seconds=settings.database_pool_timeout_seconds,
        server_settings=GROUP_SETTINGS,
    )


@dataclass(frozen=True)
class Submission:
    """One POSTed report waiting for its group's transaction."""

    report: IncidentReport
    client: Client
    fingerprint: str
    idempotency_key: str | None
    now: datetime

    @property
    def client_key(self) -> ClientKey | None:
        """The Idempotency-Key as the client's own."""
        key = self.idempotency_key
        return None if key is None else (self.client.client_id, key)


# IdempotencyKeyReused, or an error of this report alone, is answered rather than raised.
Answer = ReportOutcome | Exception


@dataclass(frozen=True)
class Reporting:
    """What groups of reports are committed with, one per process: the sessions of the groups'
    pool (`report_engine`), the reference numbers drawn, the metrics."""

    sessions: async_sessionmaker[AsyncSession]
    numbers: ReferenceNumbers
    metrics: IntakeMetrics


async def report_incidents(reporting: Reporting, submissions: Sequence[Submission]) -> list[Answer]:
    """One answer per submission, in order, once their transaction has committed."""
    try:
        return await _in_one_transaction(reporting, submissions)
    except Exception as error:
        if len(submissions) == 1 or _connection_lost(error):
            raise
        log.warning("a group of %d reports failed: %s", len(submissions), redacted_reason(error))
    reporting.metrics.group_commit_fallbacks.inc()
    return [await _alone(reporting, submission) for submission in submissions]


async def _in_one_transaction(
    reporting: Reporting, submissions: Sequence[Submission]
) -> list[Answer]:
    try:
        async with reporting.sessions.begin() as session:
            answers = await _report_group(session, submissions, reporting.numbers)
    except Exception as error:
        if _connection_lost(error) or not _database_unavailable(error):
            raise
        # E.g. a refused connection, which asyncpg raises bare: answered 503 like a lost one.
        raise OperationalError(None, None, error, connection_invalidated=True) from error
    reporting.metrics.group_commit_size.observe(len(submissions))
    return answers


async def _alone(reporting: Reporting, submission: Submission) -> Answer:
    try:
        return (await _in_one_transaction(reporting, [submission]))[0]
    except Exception as error:  # this report's own failure: its answer, not the group's
        return error


def _connection_lost(error: Exception) -> bool:
    return isinstance(error, DBAPIError) and error.connection_invalidated


def _database_unavailable(error: Exception) -> bool:
    """Down, shutting down or out of resources: only waiting helps. A deadlock or serialization
    failure (SQLSTATE class 40) is not: the reports are retried one per transaction."""
    return is_infrastructure_error(error) and not (sqlstate_of(error) or "").startswith("40")


async def _report_group(
    session: AsyncSession, submissions: Sequence[Submission], numbers: ReferenceNumbers
) -> list[Answer]:
    owners = domain.first_occurrences(s.client_key for s in submissions)
    claims = [
        KeyClaim(client_id, key, submissions[i].fingerprint, submissions[i].now)
        for (client_id, key), i in owners.items()
    ]
    claimed = await repository.claim_idempotency_keys(session, claims=claims) if claims else set()
    # Reports without a key, and first uses of their key, are stored; the rest are retries.
    storing = [
        i
        for i, s in enumerate(submissions)
        if (key := s.client_key) is None or (key in claimed and owners[key] == i)
    ]
    stored = dict(
        zip(
            storing,
            await store_reports(session, [submissions[i] for i in storing], numbers=numbers),
            strict=True,
        )
    )
    # A new incident's key was bound as it was stored; a report deduplicated by its dedup_key
    # gets the incident already open.
    bound = {
        key: outcome.incident.incident_id
        for key in claimed
        if not (outcome := stored[owners[key]]).created
    }
    if bound:
        await repository.bind_idempotency_keys(session, incident_ids=bound)
    replays = await _replays(session, submissions, owners, claimed, stored)
    return [stored[i] if i in stored else replays[i] for i in range(len(submissions))]


async def _replays(
    session: AsyncSession,
    submissions: Sequence[Submission],
    owners: dict[ClientKey, int],
    claimed: set[ClientKey],
    stored: dict[int, ReportOutcome],
) -> dict[int, Answer]:
    """Each retry judged against its key's first request: the same body gets that incident,
    another body a 409. The first request is in this group, or committed before it."""
    earlier = set(owners) - claimed
    records = await repository.replays_of(session, keys=earlier) if earlier else {}
    answers: dict[int, Answer] = {}
    for i, submission in enumerate(submissions):
        key = submission.client_key
        if key is None or i in stored:
            continue
        if key in claimed:
            fingerprint = submissions[owners[key]].fingerprint
            incident: Incident | None = stored[owners[key]].incident
        else:  # a key without a record vanished between our claim and this lookup
            fingerprint, incident = records.get(key, ("", None))
        if fingerprint != submission.fingerprint:
            answers[i] = domain.IdempotencyKeyReused(key[1])
        elif incident is None:
            answers[i] = RuntimeError(f"idempotency key {key!r} points at no incident")
        else:
            answers[i] = ReportOutcome(incident, deduplicated_via="idempotency_key")
    return answers
