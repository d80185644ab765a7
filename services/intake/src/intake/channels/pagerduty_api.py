"""POST /v1/integrations/events: a PagerDuty Events API v2-compatible endpoint, so any sender
that speaks to PagerDuty can report here by changing its URL. The routing key is the
credential, not a Bearer key: one of INTAKE_EVENTS_ROUTING_KEYS (the built-in client `events`,
for the customer the key names), or an API key holding `report` (its client's, looked up by
digest like any key). Answers take PagerDuty's shape: 202 {status, message, dedup_key}, or 400
{status: "invalid event", message, errors} naming each bad field or an unknown routing key
(403 for a key without `report`), never the API's problem+json.

acknowledge moves the incident to in_progress where its lifecycle allows that; a new incident
(no agent yet) keeps its status and gets an internal note saying it was acknowledged.
"""

import secrets
import uuid
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from fastapi import APIRouter, Request, Response, status
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from incident_events.types import AuthorKind, IncidentStatus, Visibility
from incident_kit.problems import Problem
from pydantic import BaseModel

from intake import domain
from intake.auth import REJECTION_REASON, Authenticator
from intake.channels.desk import ChannelDesk, Resolution
from intake.channels.pagerduty import (
    SEVERITIES,
    SOURCE,
    EventIn,
    report_of,
    resolution_summary,
    stored_dedup_key,
)
from intake.domain import EVENTS_CLIENT, Client, Comment, Incident, Scope, StatusChange

ACKNOWLEDGED = "acknowledged through the Events API"
RESOLVED = "resolved through the Events API"


class EventAccepted(BaseModel):
    status: Literal["success"] = "success"
    message: str = "Event processed"
    dedup_key: str


class InvalidEvent(BaseModel):
    status: Literal["invalid event"] = "invalid event"
    message: str
    errors: list[str]


def invalid_event(errors: Sequence[str], message: str = "Event object is invalid") -> JSONResponse:
    body = InvalidEvent(message=message, errors=list(errors))
    return JSONResponse(body.model_dump(), status_code=status.HTTP_400_BAD_REQUEST)


class PagerDutyShapedRoute(APIRoute):
    """Answers a refused event in PagerDuty's shape rather than problem+json."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handle = super().get_route_handler()

        async def handle_in_pagerduty_shape(request: Request) -> Response:
            try:
                return await handle(request)
            except RequestValidationError as error:
                return invalid_event([_field_error(item) for item in error.errors()])
            except Problem as problem:
                if not 400 <= problem.status < 500:
                    raise
                answer = invalid_event([problem.detail or problem.title], problem.title)
                answer.status_code = problem.status
                return answer

        return handle_in_pagerduty_shape


def _field_error(item: Any) -> str:
    location = [str(part) for part in item["loc"] if part != "body"]
    message = str(item["msg"]).removeprefix("Value error, ")
    # The event's own rules (payload for a trigger, dedup_key otherwise) name their field.
    if not location and ": " in message:
        return message
    return f"{'.'.join(location) or 'body'}: {message}"


@dataclass(frozen=True)
class Sender:
    """Whom an event comes from, as its routing key tells."""

    client: Client
    # The customer its incidents are for (None: one per source).
    customer_id: str | None = None
    # The routing key its dedup_keys are kept under, besides the client (pagerduty).
    routing_key: str | None = None


class SenderFinder:
    """The sender of a routing key: one configured for the built-in client `events`, else an
    API key holding `report`."""

    def __init__(self, routing_keys: dict[str, str | None], auth: Authenticator) -> None:
        self._configured = [(key.encode(), customer) for key, customer in routing_keys.items()]
        self._auth = auth

    async def sender_of(self, request: Request, routing_key: str) -> Sender:
        given = routing_key.encode()
        for known, customer in self._configured:
            if secrets.compare_digest(given, known):
                return Sender(EVENTS_CLIENT, customer, routing_key)
        client = await self._auth.client_of(routing_key)
        if client is None:
            setattr(request.state, REJECTION_REASON, "invalid_routing_key")
            raise Problem(400, "Event object is invalid", "routing_key: not a known routing key")
        if Scope.REPORT not in client.scopes:
            setattr(request.state, REJECTION_REASON, "insufficient_scope")
            raise Problem(
                403,
                "Routing key not allowed to report",
                "routing_key: the API key does not hold the scope report",
            )
        return Sender(client)


def events_router(desk: ChannelDesk, senders: SenderFinder) -> APIRouter:
    router = APIRouter(
        prefix="/v1/integrations", tags=["integrations"], route_class=PagerDutyShapedRoute
    )

    @router.post(
        "/events",
        status_code=status.HTTP_202_ACCEPTED,
        responses={
            400: {"model": InvalidEvent, "description": "A malformed event or unknown key"},
            403: {"model": InvalidEvent, "description": "An API key without the scope report"},
            "4XX": {"description": "Other refusals, e.g. 413 for a body over the size limit"},
        },
    )
    async def events(request: Request, event: EventIn) -> EventAccepted:
        """PagerDuty Events API v2: `trigger` reports an incident (or finds the open one with
        its dedup_key), `acknowledge` moves it to in_progress, `resolve` resolves it. The
        routing key is one of INTAKE_EVENTS_ROUTING_KEYS or an API key holding `report`."""
        sender = await senders.sender_of(request, event.routing_key)
        dedup_key = event.dedup_key or uuid.uuid4().hex
        key = stored_dedup_key(sender.routing_key, dedup_key)
        match event.event_action:
            case "trigger":
                await _trigger(desk, event, dedup_key, sender)
            case "acknowledge":
                incident = await desk.open_incident(sender.client, key)
                if incident is not None:
                    await _acknowledge(desk, incident)
            case "resolve":
                summary = resolution_summary(event.payload)
                await desk.resolve(Resolution(sender.client, key, RESOLVED, summary, SOURCE))
        return EventAccepted(dedup_key=dedup_key)

    return router


async def _trigger(desk: ChannelDesk, event: EventIn, dedup_key: str, sender: Sender) -> None:
    if event.payload is None:
        raise ValueError("a trigger without payload passed validation")
    report = report_of(
        event.payload,
        routing_key=sender.routing_key,
        dedup_key=dedup_key,
        customer_id=sender.customer_id,
    )
    reported = await desk.report(report, client=sender.client)
    if not reported.created and reported.incident.severity != report.severity:
        await desk.update_severity(
            reported.incident,
            SEVERITIES[event.payload.severity],
            reason="a new trigger of its dedup_key gave another severity",
            changed_by=SOURCE,
        )


async def _acknowledge(desk: ChannelDesk, incident: Incident) -> None:
    """In progress where allowed; else (new, no agent yet) an internal note says so."""
    now = desk.now()
    if IncidentStatus.IN_PROGRESS in domain.allowed_targets(incident, now=now, policy=desk.policy):
        change = StatusChange(IncidentStatus.IN_PROGRESS, ACKNOWLEDGED, SOURCE)
        try:
            await desk.change(
                incident.incident_id,
                lambda i: domain.change_status(i, change, now=now, policy=desk.policy),
            )
        except domain.TransitionNotAllowed:
            pass  # it moved meanwhile; the acknowledgement is late, not wrong
        return
    if incident.status == IncidentStatus.IN_PROGRESS:
        return
    note = Comment(
        comment_id=str(uuid.uuid4()),
        author_kind=AuthorKind.SYSTEM,
        author_id=SOURCE,
        visibility=Visibility.INTERNAL,
        body=f"The monitoring system {ACKNOWLEDGED} while the incident was {incident.status}.",
    )
    try:
        await desk.comment(incident.incident_id, note)
    except domain.IncidentNotOpen:
        pass  # closed meanwhile
