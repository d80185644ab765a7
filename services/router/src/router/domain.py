"""Routing rules, pure: who may take an incident, who should, and why, in words.

No I/O and no clock here: callers pass agents, incidents and `now`, and get decisions back.
"""

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from fractions import Fraction

from incident_events.routing import AssignmentQueued, IncidentAssigned
from incident_events.types import Severity

ONLINE = "online"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
PRESENCES = ("online", "away", "offline")

# The least experienced tier allowed to handle each severity.
MIN_TIER: Mapping[Severity, int] = {
    Severity.CRITICAL: 3,
    Severity.HIGH: 2,
    Severity.MEDIUM: 1,
    Severity.LOW: 1,
}
# Queue order: the most severe first.
SEVERITY_RANK: Mapping[Severity, int] = {
    Severity.CRITICAL: 0,
    Severity.HIGH: 1,
    Severity.MEDIUM: 2,
    Severity.LOW: 3,
}


@dataclass(frozen=True)
class Agent:
    agent_id: str
    name: str
    skills: Mapping[str, int]
    languages: frozenset[str]
    tier: int
    capacity: int
    presence: str = ONLINE
    active_count: int = 0


@dataclass(frozen=True)
class Incident:
    """What routing needs to know about an incident."""

    incident_id: str
    severity: Severity
    language: str
    required_skills: tuple[str, ...] = ()
    queued_at: datetime | None = None


@dataclass(frozen=True)
class Assigned:
    agent: Agent
    reason: str


@dataclass(frozen=True)
class Queued:
    reason: str


Decision = Assigned | Queued


@dataclass(frozen=True)
class Placement:
    """A queued incident given to an agent, and the agent's load afterwards."""

    incident: Incident
    decision: Assigned
    agent_after: Agent


def normalize_language(language: str) -> str:
    """The primary subtag of a BCP 47 tag, lower case: `en-US` -> `en`."""
    return language.split("-", 1)[0].strip().lower()


def normalize_skills(skills: Iterable[str]) -> tuple[str, ...]:
    return tuple(sorted({skill.strip().lower() for skill in skills if skill.strip()}))


def has_skills(incident: Incident, agent: Agent) -> bool:
    return all(agent.skills.get(skill, 0) >= 1 for skill in incident.required_skills)


def speaks(incident: Incident, agent: Agent) -> bool:
    return incident.language in agent.languages


def senior_enough(incident: Incident, agent: Agent) -> bool:
    return agent.tier >= MIN_TIER[incident.severity]


def severities_for_tier(tier: int) -> list[Severity]:
    """The severities an agent of `tier` is senior enough for."""
    return [severity for severity, minimum in MIN_TIER.items() if tier >= minimum]


def has_room(agent: Agent) -> bool:
    return agent.active_count < agent.capacity


def is_eligible(incident: Incident, agent: Agent) -> bool:
    return (
        agent.presence == ONLINE
        and has_skills(incident, agent)
        and speaks(incident, agent)
        and senior_enough(incident, agent)
        and has_room(agent)
    )


def eligible_agents(incident: Incident, agents: Iterable[Agent]) -> list[Agent]:
    return [agent for agent in agents if is_eligible(incident, agent)]


def skill_total(incident: Incident, agent: Agent) -> int:
    return sum(agent.skills.get(skill, 0) for skill in incident.required_skills)


def _preference(incident: Incident) -> Callable[[Agent], tuple[Fraction, int, str]]:
    # Least loaded first (as an exact fraction: 1/3 vs 2/6 tie), then most skilled, then by id.
    def key(agent: Agent) -> tuple[Fraction, int, str]:
        load = Fraction(agent.active_count, agent.capacity)
        return (load, -skill_total(incident, agent), agent.agent_id)

    return key


def choose_agent(incident: Incident, agents: Iterable[Agent]) -> Decision:
    """The eligible agent with the lowest load, then the most skill, then the lowest id."""
    candidates = list(agents)
    eligible = eligible_agents(incident, candidates)
    if not eligible:
        return Queued(queued_reason(incident, candidates))
    best = min(eligible, key=_preference(incident))
    return Assigned(best, assigned_reason(incident, best))


def assigned_reason(incident: Incident, agent: Agent) -> str:
    """E.g. "skills network:4, billing:2; speaks cs; tier 3 >= 3 for critical; load 1/4"."""
    skills = ", ".join(f"{s}:{agent.skills[s]}" for s in incident.required_skills)
    return "; ".join(
        [
            f"skills {skills}" if skills else "no skills required",
            f"speaks {incident.language}",
            f"tier {agent.tier} >= {MIN_TIER[incident.severity]} for {incident.severity}",
            f"load {agent.active_count}/{agent.capacity}",
        ]
    )


@dataclass(frozen=True)
class Candidates:
    """How far the online agents meet an incident's requirements, one after the other: how many
    are online, of them how many speak its language with its skills, and of those how many
    are of its tier or above (all of whom, if it waits, are at capacity)."""

    online: int
    matching: int
    senior: int


def count_candidates(incident: Incident, agents: Iterable[Agent]) -> Candidates:
    online = [a for a in agents if a.presence == ONLINE]
    matching = [a for a in online if speaks(incident, a) and has_skills(incident, a)]
    senior = [a for a in matching if senior_enough(incident, a)]
    return Candidates(len(online), len(matching), len(senior))


def queued_reason(incident: Incident, agents: Sequence[Agent]) -> str:
    """Names the first requirement no agent meets, so operators know whom to bring online."""
    return reason_to_wait(incident, count_candidates(incident, agents))


def reason_to_wait(incident: Incident, candidates: Candidates) -> str:
    if not candidates.online:
        return f"no agent is online (needs one who {_wanted(incident, 'speaks')})"
    if not candidates.matching:
        return f"no online agent {_wanted(incident, 'speaks')}"
    minimum = MIN_TIER[incident.severity]
    if not candidates.senior:
        return (
            f"no online agent who {_wanted(incident, 'speaks')} has tier >= {minimum} "
            f"for {incident.severity}"
        )
    return (
        f"all {candidates.senior} online agents who {_wanted(incident, 'speak')} "
        f"at tier >= {minimum} are at capacity"
    )


def _wanted(incident: Incident, verb: str) -> str:
    wanted = f"{verb} {incident.language}"
    if incident.required_skills:
        wanted += f" with skills {', '.join(incident.required_skills)}"
    return wanted


def with_one_more(agent: Agent) -> Agent:
    return Agent(**{**agent.__dict__, "active_count": agent.active_count + 1})


def queue_order(incident: Incident) -> tuple[int, datetime, str]:
    return (SEVERITY_RANK[incident.severity], incident.queued_at or _EPOCH, incident.incident_id)


def fill_from_queue(agent: Agent, queued: Iterable[Incident]) -> list[Placement]:
    """Give `agent` the most urgent queued incidents it can take, until its capacity is full."""
    placements: list[Placement] = []
    for incident in sorted(queued, key=queue_order):
        if not is_eligible(incident, agent):
            continue
        decision = Assigned(agent, assigned_reason(incident, agent))
        agent = with_one_more(agent)
        placements.append(Placement(incident, decision, agent))
    return placements


def assigned_fact(incident_id: str, decision: Assigned, *, now: datetime) -> IncidentAssigned:
    return IncidentAssigned(
        incident_id=incident_id,
        agent_id=decision.agent.agent_id,
        agent_name=decision.agent.name,
        reason=decision.reason,
        assigned_at=now,
    )


def queued_fact(incident_id: str, decision: Queued, *, now: datetime) -> AssignmentQueued:
    return AssignmentQueued(incident_id=incident_id, reason=decision.reason, queued_at=now)
