"""Intake's HTTP API: report an incident, read it with its public timeline, list incidents.
Thin: validation is in schemas, the transaction in reporting (reports arriving together share
one, see group_commit), the rules in domain. Changes to incidents are in changes_api.

Reporting needs the `report` scope (`agent` for one an agent logs: phone, fax; a tier in the
report, `admin`); reading an incident
`agent` or `admin`, or being the client that reported it; listing `agent` or `admin`.
"""

from collections.abc import Sequence
from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Query, Request, Response, status
from incident_events.types import IncidentStatus, Severity
from incident_kit.problems import Problem
from incident_kit.service import Runtime

from intake import domain, repository
from intake.auth import AUTH_RESPONSES, Authenticator, scope_problem
from intake.config import IntakeSettings
from intake.domain import Client, Scope
from intake.group_commit import GroupCommitter
from intake.metrics import IntakeMetrics
from intake.reporting import Answer, Reporting, Submission, report_incidents
from intake.schemas import IncidentDetailOut, IncidentIn, IncidentOut, IncidentPage
from intake.schemas.fields import IdFilter, IncidentId
from intake.schemas.paging import InvalidCursor, decode_cursor, encode_cursor
from intake.storing import ReportOutcome

IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=255,
        # Visible ASCII: HTTP drops a value's outer whitespace, so " k " would arrive as "k".
        pattern=r"^[!-~]+$",
        description="Retries with the same key and body return the first answer for 24 hours "
        "(INTAKE_IDEMPOTENCY_KEY_RETENTION_HOURS); 1 to 255 visible ASCII characters, e.g. a "
        "UUID.",
    ),
]


def incidents_router(
    runtime: Runtime,
    metrics: IntakeMetrics,
    auth: Authenticator,
    reporting: Reporting,
) -> APIRouter:
    router = APIRouter(prefix="/v1/incidents", tags=["incidents"], responses=AUTH_RESPONSES)
    reports = _report_committer(runtime, reporting)
    policy = lifecycle_policy(runtime)
    # `report`, or `agent` for what an agent logs (domain.scope_to_report).
    reporter = auth.requiring(Scope.REPORT, Scope.AGENT)
    any_client = auth.requiring(*Scope)
    reader = auth.requiring(*domain.READERS)

    @router.post(
        "",
        status_code=status.HTTP_201_CREATED,
        responses={
            200: {"model": IncidentOut, "description": "An existing incident (repeat)"},
            409: {"description": "The Idempotency-Key came first with another body"},
        },
    )
    async def report(
        request: Request,
        body: IncidentIn,
        response: Response,
        client: Annotated[Client, Depends(reporter)],
        idempotency_key: IdempotencyKey = None,
    ) -> IncidentOut:
        """Report an incident: 201 for a new one, 200 with the existing one for a repeated
        Idempotency-Key or the dedup_key of an open incident (both are the client's own). A
        report an agent logs for the customer (phone, fax: `logged_by`) needs `agent`."""
        needed = domain.scope_to_report(logged_by=body.logged_by)
        if needed not in client.scopes:
            missing = domain.ScopeMissing([needed], client.scopes)
            field = "body.logged_by" if needed is Scope.AGENT else None
            raise scope_problem(request, missing, field=field)
        if body.customer.tier is not None and not domain.may_set_tier(client):
            missing = domain.ScopeMissing([Scope.ADMIN], client.scopes)
            raise scope_problem(request, missing, field="body.customer.tier")
        try:
            outcome = await reports.submit(
                Submission(
                    report=body.to_report(),
                    client=client,
                    fingerprint=domain.request_fingerprint(body.model_dump(mode="json")),
                    idempotency_key=idempotency_key,
                    now=runtime.clock.now(),
                )
            )
        except domain.IdempotencyKeyReused as error:
            # 409, not 422: the request is valid on its own; it conflicts with an earlier one.
            raise Problem(
                409,
                "Idempotency-Key reused with a different request",
                f"the key {error} was first sent with another body; use a new key",
                field="header.Idempotency-Key",
            ) from error
        metrics.record_report(outcome.incident, deduplicated_via=outcome.deduplicated_via)
        incident = outcome.incident
        response.headers["Location"] = f"/v1/incidents/{incident.incident_id}"
        if not outcome.created:
            response.status_code = status.HTTP_200_OK
        return IncidentOut.of(incident, contacts=domain.sees_customer_contacts(client))

    @router.get("/{incident_id}", responses={404: {"description": "No such incident"}})
    async def read(
        incident_id: IncidentId, client: Annotated[Client, Depends(any_client)]
    ) -> IncidentDetailOut:
        """The incident with its public timeline (never internal notes) and the statuses it may
        move to now. A client that may only report reads only its own (others are 404)."""
        async with runtime.sessions() as session:
            incident = await repository.get_incident(session, incident_id=incident_id)
            if incident is None or not domain.may_read_incident(
                client, reported_by=incident.client_id
            ):
                raise Problem(404, "Incident not found", f"no incident {incident_id!r}")
            facts = await repository.public_timeline(session, incident_id=incident_id)
        allowed = domain.allowed_targets(incident, now=runtime.clock.now(), policy=policy)
        contacts = domain.sees_customer_contacts(client)
        return IncidentDetailOut.with_timeline(incident, facts, allowed, contacts=contacts)

    @router.get("", responses={422: {"description": "A bad filter, limit or cursor"}})
    async def list_incidents(
        _: Annotated[Client, Depends(reader)],
        status: Annotated[list[IncidentStatus] | None, Query()] = None,
        severity: Annotated[list[Severity] | None, Query()] = None,
        customer: IdFilter = None,
        assignee: IdFilter = None,
        limit: PageLimit = 50,
        cursor: PageCursor = None,
    ) -> IncidentPage:
        """Incidents newest first, filtered by status and severity (each repeatable), customer
        id and assignee (agent id); `next_cursor` fetches the next page."""
        where = repository.IncidentFilter(
            statuses=status or (),
            severities=severity or (),
            customer_id=customer,
            assignee_id=assignee,
        )
        return await incident_page(runtime, where, limit=limit, cursor=cursor)

    return router


PageLimit = Annotated[int, Query(ge=1, le=200)]
PageCursor = Annotated[str | None, Query(max_length=500)]


async def incident_page(
    runtime: Runtime, where: repository.IncidentFilter, *, limit: int, cursor: str | None
) -> IncidentPage:
    """One page of the incidents `where` selects, newest first, after the cursor's position."""
    try:
        before = decode_cursor(cursor) if cursor else None
    except InvalidCursor as error:
        raise invalid_field("query.cursor", str(error)) from error
    async with runtime.sessions() as session:
        found = await repository.list_incidents(
            session, where=where, before=before, limit=limit + 1
        )
    page, more = found[:limit], len(found) > limit
    last = page[-1] if more else None
    return IncidentPage(
        items=[IncidentOut.of(incident) for incident in page],
        next_cursor=encode_cursor(last.created_at, last.incident_id) if last else None,
    )


def intake_settings(runtime: Runtime) -> IntakeSettings:
    settings = runtime.settings
    if not isinstance(settings, IntakeSettings):
        raise TypeError("intake's runtime must carry IntakeSettings")
    return settings


def lifecycle_policy(runtime: Runtime) -> domain.LifecyclePolicy:
    hours = intake_settings(runtime).closed_final_after_hours
    return domain.LifecyclePolicy(closed_final_after=timedelta(hours=hours))


def invalid_field(field: str, message: str) -> Problem:
    """A 422 shaped like the kit's validation errors, for what only a rule can tell."""
    return Problem(
        422,
        "Invalid request",
        f"{field}: {message}",
        field=field,
        errors=[{"field": field, "message": message}],
    )


def _report_committer(
    runtime: Runtime, reporting: Reporting
) -> GroupCommitter[Submission, ReportOutcome]:
    settings = intake_settings(runtime)

    async def commit(submissions: Sequence[Submission]) -> list[Answer]:
        return await report_incidents(reporting, submissions)

    committer = GroupCommitter(
        commit,
        max_size=settings.group_commit_max_reports,
        max_wait=settings.group_commit_wait_ms / 1000,
        max_in_flight=settings.group_commit_max_in_flight,
    )
    # At shutdown, after the last request and before the engine closes.
    runtime.closers.append(committer.close)
    return committer
