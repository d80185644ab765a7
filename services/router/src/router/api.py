"""The router's HTTP API: agents (PUT/GET/DELETE, list) and the queue. Thin: validate, call the
repository or a placement use case in one transaction, answer."""

from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Response, status
from incident_events import Event, EventData, new_event
from incident_kit.fields import EmailAddress, NoCoercion, NoNul
from incident_kit.outbox import add_events
from incident_kit.problems import Problem
from incident_kit.service import Runtime
from pydantic import BaseModel, ConfigDict, Field, StringConstraints
from sqlalchemy.ext.asyncio import AsyncSession

from router import placement, repository
from router.metrics import RouterMetrics
from router.queue_depth import QueueDepth
from router.tables import outbox

SOURCE = "/router"
SkillSlug = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$")]
SkillLevel = Annotated[int, Field(ge=1, le=5), NoCoercion]
Language = Annotated[str, StringConstraints(pattern=r"^[a-z]{2}$")]
AgentId = Annotated[str, Path(pattern=r"^[A-Za-z0-9][A-Za-z0-9._:@-]{0,63}$")]
Limit = Annotated[int, Query(ge=1, le=500)]
# Bounded: PostgreSQL's OFFSET takes a bigint, and a larger one failed there with a 500.
Offset = Annotated[int, Query(ge=0, le=1_000_000)]
NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"description": "No such agent"}}


class AgentIn(BaseModel):
    """An agent's profile; PUT replaces it whole. The load (active_count) is the router's."""

    model_config = ConfigDict(extra="forbid")

    name: Annotated[str, NoNul] = Field(min_length=1, max_length=200)
    email: EmailAddress | None = None
    skills: dict[SkillSlug, SkillLevel] = Field(
        default_factory=dict,
        max_length=100,
        description="Skill slug -> level 1 (basic)..5.",
        # pydantic documents the key pattern as patternProperties, which alone admits any key.
        json_schema_extra={"additionalProperties": False},
    )
    languages: list[Language] = Field(
        min_length=1, max_length=20, description="ISO 639-1 codes, lower case, e.g. en, cs."
    )
    tier: Annotated[int, NoCoercion] = Field(
        ge=1, le=3, description="1 first line .. 3 expert; critical needs 3."
    )
    capacity: Annotated[int, NoCoercion] = Field(
        ge=0, le=100, description="Incidents the agent works at once."
    )
    presence: Literal["online", "away", "offline"]


class AgentOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    agent_id: str
    name: str
    email: str | None
    skills: dict[str, int]
    languages: list[str]
    tier: int
    capacity: int
    presence: str
    active_count: int
    updated_at: datetime


class AgentList(BaseModel):
    items: list[AgentOut]


class QueuedIncident(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    incident_id: str
    severity: str
    language: str
    required_skills: list[str]
    reason: str = Field(description="Why no agent could take it yet.")
    queued_at: datetime | None


class Queue(BaseModel):
    items: list[QueuedIncident]


def routing_router(
    runtime: Runtime,
    metrics: RouterMetrics,
    queue: QueueDepth,
    guard: Callable[..., Awaitable[str]],
) -> APIRouter:
    router = APIRouter(prefix="/v1", tags=["routing"], dependencies=[Depends(guard)])

    async def emit(session: AsyncSession, facts: Sequence[EventData]) -> None:
        """Write facts the API caused to the outbox."""
        now = runtime.clock.now()
        events: list[Event[EventData]] = [new_event(f, source=SOURCE, now=now) for f in facts]
        await add_events(session, outbox, events)

    def record(facts: Sequence[EventData]) -> None:
        """After the commit: count the decisions, and the queue again if they changed it."""
        metrics.record(facts)
        if facts:
            queue.changed()

    @router.put("/agents/{agent_id}", responses={201: {"model": AgentOut}})
    async def put_agent(agent_id: AgentId, body: AgentIn, response: Response) -> AgentOut:
        """Create or replace an agent; an online agent with room takes queued incidents."""
        now = runtime.clock.now()
        async with runtime.sessions.begin() as session:
            row, created = await repository.upsert_agent(
                session, agent_id=agent_id, profile=body.model_dump(), now=now
            )
            facts = await placement.fill(session, agent=repository.to_agent(row), now=now)
            await emit(session, facts)
            if facts:
                await session.refresh(row)  # its load just changed
        record(facts)
        response.status_code = status.HTTP_201_CREATED if created else status.HTTP_200_OK
        return AgentOut.model_validate(row)

    @router.get("/agents/{agent_id}", responses=NOT_FOUND)
    async def get_agent(agent_id: AgentId) -> AgentOut:
        async with runtime.sessions() as session:
            row = await repository.get_agent(session, agent_id=agent_id)
        if row is None:
            raise Problem(404, "Agent not found", f"no agent with id {agent_id!r}")
        return AgentOut.model_validate(row)

    @router.get("/agents")
    async def list_agents(limit: Limit = 100, offset: Offset = 0) -> AgentList:
        async with runtime.sessions() as session:
            rows = await repository.list_agents(session, limit=limit, offset=offset)
        return AgentList(items=[AgentOut.model_validate(row) for row in rows])

    @router.delete(
        "/agents/{agent_id}", status_code=status.HTTP_204_NO_CONTENT, responses=NOT_FOUND
    )
    async def delete_agent(agent_id: AgentId) -> None:
        """Remove an agent; its open incidents go to other agents or back to the queue."""
        async with runtime.sessions.begin() as session:
            facts = await placement.remove_agent(
                session, agent_id=agent_id, now=runtime.clock.now()
            )
            if facts is None:
                raise Problem(404, "Agent not found", f"no agent with id {agent_id!r}")
            await emit(session, facts)
        record(facts)

    @router.get("/queue")
    async def get_queue(limit: Limit = 100, offset: Offset = 0) -> Queue:
        """Incidents waiting for an agent: most severe first, then the longest waiting."""
        async with runtime.sessions() as session:
            rows = await repository.queued(session, limit=limit, offset=offset)
        return Queue(items=[QueuedIncident.model_validate(row) for row in rows])

    return router
