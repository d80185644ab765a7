"""The sla HTTP API: policies (create, replace, read) and an incident's clocks."""

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Response
from incident_kit.fields import NoNul
from incident_kit.problems import Problem
from incident_kit.service import Runtime

from sla import repository
from sla.policy_cache import PolicyCache
from sla.resources import ClockView, IncidentSla, PolicyBody, PolicyOut

PolicyId = Annotated[str, Path(pattern=r"^[A-Za-z0-9._-]+$", max_length=64)]
IncidentId = Annotated[str, Path(min_length=1, max_length=64), NoNul]
Guard = Callable[..., Awaitable[str]]


def policies_router(runtime: Runtime, guard: Guard, cache: PolicyCache) -> APIRouter:
    router = APIRouter(prefix="/v1/policies", tags=["policies"], dependencies=[Depends(guard)])

    @router.put("/{policy_id}", responses={201: {"model": PolicyOut}})
    async def put_policy(policy_id: PolicyId, body: PolicyBody, response: Response) -> PolicyOut:
        """Create (201) or replace (200) a policy; running clocks keep the targets they had."""
        async with runtime.sessions.begin() as session:
            created = await repository.save_policy(
                session, policy=body.to_policy(policy_id), now=runtime.clock.now()
            )
            row = await repository.policy_row(session, policy_id=policy_id)
        cache.forget()
        assert row is not None  # written in this very transaction
        response.status_code = 201 if created else 200
        return PolicyOut.of(row)

    @router.get("/{policy_id}", responses={404: {"description": "No such policy"}})
    async def get_policy(policy_id: PolicyId) -> PolicyOut:
        async with runtime.sessions() as session:
            row = await repository.policy_row(session, policy_id=policy_id)
        if row is None:
            raise Problem(404, "Policy not found", f"no policy {policy_id!r}")
        return PolicyOut.of(row)

    @router.get("")
    async def list_policies() -> list[PolicyOut]:
        """Every policy, in the order they are matched (priority, then id)."""
        async with runtime.sessions() as session:
            rows = await repository.policy_rows(session)
        return [PolicyOut.of(row) for row in rows]

    return router


def incidents_router(runtime: Runtime, guard: Guard) -> APIRouter:
    router = APIRouter(prefix="/v1/incidents", tags=["clocks"], dependencies=[Depends(guard)])

    @router.get("/{incident_id}/sla", responses={404: {"description": "sla has not seen it"}})
    async def incident_sla(incident_id: IncidentId) -> IncidentSla:
        """The incident's clocks with their time to breach (empty when no policy matched)."""
        async with runtime.sessions() as session:
            incident = await repository.incident_row(session, incident_id=incident_id)
            clocks = await repository.clocks_of(session, incident_id=incident_id)
        if incident is None:
            raise Problem(404, "Incident not found", f"sla has no incident {incident_id!r}")
        now = runtime.clock.now()
        return IncidentSla(
            incident_id=incident_id,
            assignee_agent_id=incident.assignee_agent_id,
            clocks=[ClockView.of(clock, now) for clock in clocks],
        )

    return router
