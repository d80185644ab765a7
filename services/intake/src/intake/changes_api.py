"""Intake's HTTP API for changing an incident after its report: move its status, comment on it,
amend its severity or kind. Thin: each route hands the domain's decision to `changing`, and
turns the domain's refusals into problem+json (409 for the incident's state, 422 for the
request), counting them.

Status changes, amendments and agents' comments need the `agent` scope. A client that may only
report may comment as the customer on the incidents it reported (others are 404 to it).
"""

import re
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, status
from incident_events.incidents import IncidentCommented
from incident_events.types import AuthorKind
from incident_kit.problems import Problem
from incident_kit.service import Runtime

from intake import domain
from intake.api import invalid_field, lifecycle_policy
from intake.auth import AUTH_RESPONSES, Authenticator, scope_problem
from intake.changing import Change, DedupKeyTaken, IncidentNotFound, apply_change
from intake.domain import Client, Incident, Outcome, Scope
from intake.metrics import IntakeMetrics
from intake.schemas import AmendmentIn, CommentIn, CommentOut, IncidentOut, StatusChangeIn
from intake.schemas.fields import IncidentId

REFUSALS: dict[int | str, dict[str, Any]] = {
    404: {"description": "No such incident"},
    409: {"description": "The incident's state does not allow it; `allowed` lists what does"},
}


def changes_router(runtime: Runtime, metrics: IntakeMetrics, auth: Authenticator) -> APIRouter:
    router = APIRouter(prefix="/v1/incidents", tags=["incidents"], responses=AUTH_RESPONSES)
    policy = lifecycle_policy(runtime)
    agent, commenter = auth.requiring(Scope.AGENT), auth.requiring(Scope.REPORT, Scope.AGENT)

    async def change(incident_id: str, decide: Callable[[Incident], Outcome]) -> Outcome:
        try:
            outcome = await apply_change(
                runtime.sessions, Change(incident_id, decide, runtime.clock.now())
            )
        except Exception as error:
            problem = refusal(error)
            if problem is None:
                raise
            metrics.changes_refused.labels(reason_of(error)).inc()
            raise problem from error
        metrics.record_facts(outcome.events)
        return outcome

    @router.post("/{incident_id}/status", responses=REFUSALS)
    async def change_status(
        incident_id: IncidentId,
        body: StatusChangeIn,
        _: Annotated[Client, Depends(agent)],
    ) -> IncidentOut:
        """Move the incident to another status, with a reason; resolving needs a
        resolution_summary. Asking for the status it has changes nothing."""
        request, now = body.to_change(), runtime.clock.now()
        outcome = await change(
            incident_id, lambda i: domain.change_status(i, request, now=now, policy=policy)
        )
        return IncidentOut.of(outcome.incident)

    @router.post("/{incident_id}/comments", status_code=status.HTTP_201_CREATED, responses=REFUSALS)
    async def comment(
        http: Request,
        incident_id: IncidentId,
        body: CommentIn,
        client: Annotated[Client, Depends(commenter)],
    ) -> CommentOut:
        """Add a public reply or an internal note. The first public agent reply is marked as
        such; a customer's comment ends a wait on the customer. Closed incidents take none."""
        if body.author.kind == AuthorKind.AGENT and Scope.AGENT not in client.scopes:
            missing = domain.ScopeMissing([Scope.AGENT], client.scopes)
            raise scope_problem(http, missing, field="body.author.kind")
        request, now = body.to_comment(), runtime.clock.now()

        def decide(incident: Incident) -> Outcome:
            if not domain.may_read_incident(client, reported_by=incident.client_id):
                raise IncidentNotFound(incident_id)
            return domain.add_comment(incident, request, now=now)

        outcome = await change(incident_id, decide)
        commented = next(f for f in outcome.events if isinstance(f, IncidentCommented))
        return CommentOut.of(commented, outcome.incident)

    @router.patch("/{incident_id}", responses=REFUSALS)
    async def amend(
        incident_id: IncidentId, body: AmendmentIn, _: Annotated[Client, Depends(agent)]
    ) -> IncidentOut:
        """Change the severity or kind of an incident being worked on; each change is a fact
        of its own."""
        request, now = body.to_amendment(), runtime.clock.now()
        outcome = await change(incident_id, lambda i: domain.amend(i, request, now=now))
        return IncidentOut.of(outcome.incident)

    return router


def reason_of(error: Exception) -> str:
    """The metric's label for a refusal: its class in snake_case, e.g. transition_not_allowed."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", type(error).__name__).lower()


def refusal(error: Exception) -> Problem | None:
    """The answer to a change the incident's rules refuse; None for any other error."""
    match error:
        case IncidentNotFound():
            return Problem(404, "Incident not found", f"no incident {str(error)!r}")
        case domain.TransitionNotAllowed():
            allowed = [str(s) for s in error.allowed]
            return Problem(
                409,
                "Transition not allowed",
                f"an incident in status {error.current} cannot become {error.target}; "
                f"allowed: {', '.join(allowed) or 'none (it is final)'}",
                field="body.status",
                current_status=str(error.current),
                allowed=allowed,
            )
        case domain.IncidentNotOpen():
            return Problem(409, "Incident not open", str(error), current_status=str(error.status))
        case DedupKeyTaken():
            return Problem(
                409, "Dedup key taken", f"{error}; work on that incident instead", field="dedup_key"
            )
        case domain.InvalidChange():
            return invalid_field(f"body.{error.field}", error.message)
        case _:
            return None
