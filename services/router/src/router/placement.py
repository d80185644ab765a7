"""The router's use cases, each inside the caller's transaction: place a new incident, release a
resolved one, fill an agent from the queue, remove an agent. They return the facts to emit.

Agent rows are locked (FOR UPDATE) before their load changes, so replicas never overfill one.
"""

from datetime import datetime

from incident_events import EventData
from sqlalchemy.ext.asyncio import AsyncSession

from router import domain, repository
from router.domain import Agent, Assigned, Decision, Incident, Queued

# A chosen agent can fill up between our snapshot and its lock; then we choose again.
_CHOICE_ATTEMPTS = 5


class AgentContention(RuntimeError):
    """Every agent we chose was taken by another replica first; the message is retried."""


async def choose_locked(session: AsyncSession, *, incident: Incident) -> Decision:
    """Choose from a snapshot, then lock the chosen agent and confirm it still qualifies."""
    for _ in range(_CHOICE_ATTEMPTS):
        decision = await _choose(session, incident)
        if isinstance(decision, Queued):
            return decision
        locked = await repository.lock_agent(session, agent_id=decision.agent.agent_id)
        if locked is not None and domain.is_eligible(incident, locked):
            return Assigned(locked, domain.assigned_reason(incident, locked))
    raise AgentContention(f"agents kept filling up while placing {incident.incident_id}")


async def _choose(session: AsyncSession, incident: Incident) -> Decision:
    """Choose the agent the database ranks first; when none is eligible, count the online agents
    requirement by requirement, which the queue reason needs to say whom to bring online (one
    row, where loading every online agent cost the router 15 ms among a thousand of them, each
    time an incident queued in a storm that had filled every agent)."""
    min_tier = domain.MIN_TIER[incident.severity]
    eligible = await repository.best_eligible(session, incident=incident, min_tier=min_tier)
    decision = domain.choose_agent(incident, eligible.agents)
    if isinstance(decision, Queued):
        return await _queued(session, incident, min_tier)
    return decision


async def _queued(session: AsyncSession, incident: Incident, min_tier: int) -> Queued:
    candidates = await repository.count_candidates(session, incident=incident, min_tier=min_tier)
    return Queued(domain.reason_to_wait(incident, candidates))


async def place_reported(
    session: AsyncSession, *, incident: Incident, now: datetime
) -> EventData | None:
    """Place a reported incident, unless the router has routed it before (a report under another
    event id): None then, and nothing changed. Asked by the saving statement, not beforehand.

    The agent is chosen, locked and assigned in one statement (`repository.assign_best_new`):
    one round trip on every report's way to its assignment. Only when no agent is eligible do
    further statements count the candidates and queue the incident."""
    min_tier = domain.MIN_TIER[incident.severity]
    assigned = await repository.assign_best_new(
        session, incident=incident, min_tier=min_tier, now=now
    )
    if assigned is None:
        queued = await _queued(session, incident, min_tier)
        saved = await repository.save_queued(
            session, incident=incident, reason=queued.reason, now=now, only_new=True
        )
        return domain.queued_fact(incident.incident_id, queued, now=now) if saved else None
    if assigned.reason is None:
        return None
    if not domain.is_eligible(incident, assigned.agent):
        # The database's conditions and the domain's disagree: a defect, never an assignment
        # the domain would not make (the batch undoes it and dead-letters this event).
        raise RuntimeError(
            f"agent {assigned.agent.agent_id} chosen for {incident.incident_id} is not eligible"
        )
    decision = Assigned(assigned.agent, assigned.reason)
    return domain.assigned_fact(incident.incident_id, decision, now=now)


async def place(session: AsyncSession, *, incident: Incident, now: datetime) -> EventData:
    """Assign the incident to the best agent now, or queue it; returns the fact to emit."""
    decision = await choose_locked(session, incident=incident)
    if isinstance(decision, Queued):
        await repository.save_queued(session, incident=incident, reason=decision.reason, now=now)
        return domain.queued_fact(incident.incident_id, decision, now=now)
    await _assign(session, incident, decision, now)
    return domain.assigned_fact(incident.incident_id, decision, now=now)


async def _assign(
    session: AsyncSession, incident: Incident, decision: Assigned, now: datetime
) -> None:
    # The assignment and the agent's load one more, in one statement.
    await repository.save_assigned(
        session,
        incident=incident,
        agent_id=decision.agent.agent_id,
        reason=decision.reason,
        now=now,
    )


async def release(session: AsyncSession, *, incident_id: str, now: datetime) -> list[EventData]:
    """Close the incident's assignment; the freed agent takes the most urgent queued work."""
    assignment = await repository.lock_assignment(session, incident_id=incident_id)
    if assignment is None or assignment.status == "released":
        return []
    # Read before the update below, which also refreshes the loaded row.
    freed_agent_id = assignment.agent_id if assignment.status == "assigned" else None
    await repository.mark_released(session, incident_id=incident_id, now=now)
    if freed_agent_id is None:
        return []  # it was still queued: leaving the queue frees nobody
    await repository.change_load(session, agent_id=freed_agent_id, delta=-1, now=now)
    agent = await repository.lock_agent(session, agent_id=freed_agent_id)
    if agent is None:
        return []  # the agent was removed meanwhile
    return await fill(session, agent=agent, now=now)


async def fill(session: AsyncSession, *, agent: Agent, now: datetime) -> list[EventData]:
    """Give a locked agent the queued incidents it qualifies for, up to its free capacity."""
    if not (agent.presence == domain.ONLINE and domain.has_room(agent)):
        return []
    free = agent.capacity - agent.active_count
    queue = await repository.lock_queue_for(session, agent=agent, limit=free)
    facts: list[EventData] = []
    for placement in domain.fill_from_queue(agent, queue):
        await _assign(session, placement.incident, placement.decision, now)
        facts.append(
            domain.assigned_fact(placement.incident.incident_id, placement.decision, now=now)
        )
    return facts


async def remove_agent(
    session: AsyncSession, *, agent_id: str, now: datetime
) -> list[EventData] | None:
    """Delete the agent and route its open incidents again; None if the agent is unknown."""
    if await repository.lock_agent(session, agent_id=agent_id) is None:
        return None
    orphans = await repository.lock_assigned_to(session, agent_id=agent_id)
    await repository.delete_agent(session, agent_id=agent_id)
    return [await place(session, incident=incident, now=now) for incident in orphans]
