"""The router's use cases, each inside the caller's transaction: place a new incident, release a
resolved one, fill an agent from the queue, remove an agent. They return the facts to emit.

Agent rows are locked (FOR UPDATE) before their load changes, so replicas never overfill one.
"""

from dataclasses import dataclass
from datetime import datetime

from incident_events import EventData
from sqlalchemy.ext.asyncio import AsyncSession

from router import domain, repository
from router.domain import Agent, Assigned, Decision, Incident, Queued

# A chosen agent can fill up between our snapshot and its lock; then we choose again.
_CHOICE_ATTEMPTS = 5


class AgentContention(RuntimeError):
    """Every agent we chose was taken by another replica first; the message is retried."""


async def choose_locked(
    session: AsyncSession, *, incident: Incident, first: Decision | None = None
) -> Decision:
    """Choose from a snapshot (`first`, if already made), then lock the chosen agent and
    confirm it still qualifies."""
    decision = first
    for _ in range(_CHOICE_ATTEMPTS):
        if decision is None:
            decision = (await _choose(session, incident)).decision
        if isinstance(decision, Queued):
            return decision
        locked = await repository.lock_agent(session, agent_id=decision.agent.agent_id)
        if locked is not None and domain.is_eligible(incident, locked):
            return Assigned(locked, domain.assigned_reason(incident, locked))
        decision = None
    raise AgentContention(f"agents kept filling up while placing {incident.incident_id}")


@dataclass(frozen=True)
class _Choice:
    decision: Decision
    versions: dict[str, int]  # each eligible agent's row version as read (repository.Eligible)


async def _choose(session: AsyncSession, incident: Incident) -> _Choice:
    """Choose the agent the database ranks first; when none is eligible, count the online agents
    requirement by requirement, which the queue reason needs to say whom to bring online (one
    row, where loading every online agent cost the router 15 ms among a thousand of them, each
    time an incident queued in a storm that had filled every agent)."""
    min_tier = domain.MIN_TIER[incident.severity]
    eligible = await repository.best_eligible(session, incident=incident, min_tier=min_tier)
    decision = domain.choose_agent(incident, eligible.agents)
    if isinstance(decision, Queued):
        candidates = await repository.count_candidates(
            session, incident=incident, min_tier=min_tier
        )
        decision = Queued(domain.reason_to_wait(incident, candidates))
    return _Choice(decision, eligible.versions)


async def place_reported(
    session: AsyncSession, *, incident: Incident, now: datetime
) -> EventData | None:
    """Place a reported incident, unless the router has routed it before (a report under another
    event id): None then, and nothing changed. Asked by the saving statement, not beforehand:
    one round trip fewer on every report's way to its assignment.

    The agent chosen from the snapshot is assigned in the statement that locks it, if its row
    is still the one read (one round trip fewer again): then it is the agent locking it would
    have confirmed, with the same reason. If the row changed meanwhile, it is locked and checked
    as `place` does."""
    choice = await _choose(session, incident)
    decision = choice.decision
    if isinstance(decision, Assigned):
        agent_id = decision.agent.agent_id
        version = choice.versions.get(agent_id)
        saved = None
        if version is not None:
            saved = await repository.assign_new_if_unchanged(
                session,
                incident=incident,
                agent_id=agent_id,
                version=version,
                reason=decision.reason,
                now=now,
            )
        if saved is not None:
            return domain.assigned_fact(incident.incident_id, decision, now=now) if saved else None
    return await place(session, incident=incident, now=now, only_new=True, first=decision)


async def place(
    session: AsyncSession,
    *,
    incident: Incident,
    now: datetime,
    only_new: bool = False,
    first: Decision | None = None,
) -> EventData | None:
    """Assign the incident to the best agent now, or queue it; returns the fact to emit (None:
    `only_new` and the router had a row of the incident). `first`: a choice already made from
    a snapshot."""
    decision = await choose_locked(session, incident=incident, first=first)
    if isinstance(decision, Queued):
        queued = await repository.save_queued(
            session, incident=incident, reason=decision.reason, now=now, only_new=only_new
        )
        return domain.queued_fact(incident.incident_id, decision, now=now) if queued else None
    if not await _assign(session, incident, decision, now, only_new=only_new):
        return None
    return domain.assigned_fact(incident.incident_id, decision, now=now)


async def _assign(
    session: AsyncSession,
    incident: Incident,
    decision: Assigned,
    now: datetime,
    *,
    only_new: bool = False,
) -> bool:
    # The assignment and the agent's load one more, in one statement.
    return await repository.save_assigned(
        session,
        incident=incident,
        agent_id=decision.agent.agent_id,
        reason=decision.reason,
        now=now,
        only_new=only_new,
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
    placed = [await place(session, incident=incident, now=now) for incident in orphans]
    return [fact for fact in placed if fact is not None]
