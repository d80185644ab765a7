"""What every channel does to incidents, the way intake's own API does it: reports go through
group commit (so dedup_key, Idempotency-Key and the outbox work alike), changes through
`changing`, and both are counted in the metrics like the API's.

Every report comes from a client (domain.clients): the bearer key's for Alertmanager, the
routing key's for the Events API, the built-in `email` and `web-form` clients for mail and the
form. Its Idempotency-Keys and dedup_keys are looked up among that client's own, and what it
may say about a customer (never the tier without `admin`) is the client's too."""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from incident_events.types import IncidentStatus, Severity
from incident_kit.service import Runtime

from intake import domain, repository
from intake.api import intake_settings, lifecycle_policy
from intake.changes_api import reason_of, refusal
from intake.changing import Change, Decision, apply_change
from intake.domain import (
    Amendment,
    Client,
    Comment,
    Identity,
    IdentityKind,
    Incident,
    IncidentReport,
    Outcome,
    StatusChange,
)
from intake.domain.customers import normalized_email
from intake.group_commit import GroupCommitter
from intake.metrics import IntakeMetrics
from intake.reporting import Answer, Reporting, Submission, report_incidents
from intake.repository.channels import has_comment, incident_by_reference
from intake.storing import ReportOutcome


@dataclass(frozen=True)
class Resolution:
    """Resolving the open incident holding a dedup_key, told `summary`."""

    client: Client
    dedup_key: str
    reason: str
    summary: str
    resolved_by: str


class ChannelDesk:
    def __init__(
        self,
        runtime: Runtime,
        metrics: IntakeMetrics,
        reporting: Reporting,
    ) -> None:
        self._runtime, self._metrics = runtime, metrics
        self.policy = lifecycle_policy(runtime)
        settings = intake_settings(runtime)

        async def commit(submissions: Sequence[Submission]) -> list[Answer]:
            return await report_incidents(reporting, submissions)

        # The channels' own group: their reports share transactions with each other.
        self._reports = GroupCommitter(
            commit,
            max_size=settings.group_commit_max_reports,
            max_wait=settings.group_commit_wait_ms / 1000,
            max_in_flight=settings.group_commit_max_in_flight,
        )
        runtime.closers.append(self._reports.close)

    def now(self) -> datetime:
        return self._runtime.clock.now()

    async def report(
        self,
        report: IncidentReport,
        *,
        client: Client,
        request: Mapping[str, Any] | None = None,
        idempotency_key: str | None = None,
    ) -> ReportOutcome:
        """A new incident, or the one the client's Idempotency-Key or open dedup_key already
        made; `request` is what a retry with the key must repeat to count as one."""
        submission = Submission(
            report=report,
            client=client,
            fingerprint=domain.request_fingerprint(request or {}),
            idempotency_key=idempotency_key,
            now=self.now(),
        )
        outcome = await self._reports.submit(submission)
        self._metrics.record_report(outcome.incident, deduplicated_via=outcome.deduplicated_via)
        return outcome

    async def change(self, incident_id: str, decide: Decision) -> Outcome:
        """The committed outcome; the domain's refusals are counted, then raised."""
        try:
            outcome = await apply_change(
                self._runtime.sessions, Change(incident_id, decide, self.now())
            )
        except Exception as error:
            if refusal(error) is not None:
                self._metrics.changes_refused.labels(reason_of(error)).inc()
            raise
        self._metrics.record_facts(outcome.events)
        return outcome

    async def open_incident(self, client: Client, dedup_key: str) -> Incident | None:
        """The client's open incident holding the dedup_key (another client's is not found)."""
        key = (client.client_id, dedup_key)
        async with self._runtime.sessions() as session:
            found = await repository.open_incidents_by_dedup_key(session, dedup_keys=[key])
        return found.get(key)

    async def by_reference(self, reference: str) -> Incident | None:
        async with self._runtime.sessions() as session:
            return await incident_by_reference(session, reference=reference)

    async def customer_of_address(self, address: str) -> str | None:
        """The customer an e-mail address is an identity of (domain.customers), if any."""
        identity = Identity(IdentityKind.EMAIL, normalized_email(address))
        async with self._runtime.sessions() as session:
            owners, _ = await repository.identity_owners(session, identities=[identity])
        owner = owners.get(identity)
        return owner.customer_id if owner else None

    async def has_comment(self, incident_id: str, comment_id: str) -> bool:
        async with self._runtime.sessions() as session:
            return await has_comment(session, incident_id=incident_id, comment_id=comment_id)

    async def resolve(self, resolution: Resolution) -> Incident | None:
        """The resolved incident; None when no open incident of the client holds the key (never
        reported, or resolved already)."""
        incident = await self.open_incident(resolution.client, resolution.dedup_key)
        if incident is None:
            return None
        change = StatusChange(
            IncidentStatus.RESOLVED,
            resolution.reason,
            resolution.resolved_by,
            resolution=resolution.summary,
        )
        now = self.now()
        try:
            outcome = await self.change(
                incident.incident_id,
                lambda i: domain.change_status(i, change, now=now, policy=self.policy),
            )
        except domain.TransitionNotAllowed:
            return None  # closed meanwhile: nothing left to resolve
        return outcome.incident

    async def update_severity(
        self, incident: Incident, severity: Severity, *, reason: str, changed_by: str
    ) -> tuple[Incident, bool]:
        """The incident with a repeated report's severity, and whether that changed it; one
        resolved meanwhile is left alone (the next report opens a new one)."""
        amendment = Amendment(severity=severity, reason=reason, changed_by=changed_by)
        now = self.now()
        try:
            outcome = await self.change(
                incident.incident_id, lambda i: domain.amend(i, amendment, now=now)
            )
        except domain.IncidentNotOpen:
            return incident, False
        return outcome.incident, bool(outcome.events)

    async def comment(self, incident_id: str, comment: Comment) -> Outcome:
        now = self.now()
        return await self.change(incident_id, lambda i: domain.add_comment(i, comment, now=now))
