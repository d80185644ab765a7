"""The routing rules: eligibility, choice, reasons and filling an agent from the queue."""

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from incident_events.routing import AssignmentQueued, IncidentAssigned
from incident_events.types import Severity
from router.domain import (
    Agent,
    Assigned,
    Incident,
    Queued,
    assigned_fact,
    choose_agent,
    eligible_agents,
    fill_from_queue,
    normalize_language,
    normalize_skills,
    queued_fact,
)

T0 = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)


def agent(agent_id: str = "a", **changes: object) -> Agent:
    base = Agent(
        agent_id=agent_id,
        name=f"Agent {agent_id}",
        skills={"network": 4, "billing": 2},
        languages=frozenset({"en", "cs"}),
        tier=3,
        capacity=4,
        presence="online",
        active_count=1,
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def incident(
    severity: Severity = Severity.CRITICAL,
    language: str = "cs",
    skills: tuple[str, ...] = ("billing", "network"),
    incident_id: str = "inc-1",
    queued_at: datetime | None = None,
) -> Incident:
    return Incident(incident_id, severity, language, skills, queued_at)


@pytest.mark.parametrize(
    ("candidate", "case", "eligible"),
    [
        (agent(), incident(), True),
        (agent(presence="away"), incident(), False),
        (agent(presence="offline"), incident(), False),
        (agent(skills={"network": 5}), incident(), False),
        (agent(skills={"network": 1, "billing": 1}), incident(), True),
        (agent(skills={"network": 0, "billing": 3}), incident(), False),
        (agent(languages=frozenset({"en"})), incident(), False),
        (agent(tier=2), incident(Severity.CRITICAL), False),
        (agent(tier=2), incident(Severity.HIGH), True),
        (agent(tier=1), incident(Severity.HIGH), False),
        (agent(tier=1), incident(Severity.MEDIUM), True),
        (agent(tier=1), incident(Severity.LOW), True),
        (agent(active_count=4), incident(), False),
        (agent(active_count=3), incident(), True),
        (agent(capacity=0, active_count=0), incident(), False),
        (agent(skills={}), incident(skills=()), True),
    ],
)
def test_eligibility(candidate: Agent, case: Incident, eligible: bool) -> None:
    assert (eligible_agents(case, [candidate]) == [candidate]) is eligible


@pytest.mark.parametrize(
    ("agents", "chosen", "why"),
    [
        # lowest load ratio wins, even against more skill
        ([agent("a", active_count=2), agent("b", active_count=1)], "b", "load"),
        (
            [agent("a", active_count=1, capacity=2), agent("b", active_count=1, capacity=4)],
            "b",
            "load as a ratio",
        ),
        # equal load: the higher total skill over the required skills
        ([agent("a", skills={"network": 1, "billing": 1}), agent("b")], "b", "skill"),
        # a skill the incident does not need does not count
        (
            [
                agent("a", skills={"network": 4, "billing": 2, "sql": 5}),
                agent("b", skills={"network": 4, "billing": 3}),
            ],
            "b",
            "only required skills count",
        ),
        # equal ratio (1/3 vs 2/6) and skill: the lowest id, deterministically
        (
            [agent("z", active_count=2, capacity=6), agent("m", active_count=1, capacity=3)],
            "m",
            "id",
        ),
        # an ineligible agent is never chosen however idle
        ([agent("a", active_count=0, tier=1), agent("b", active_count=3)], "b", "eligibility"),
    ],
)
def test_choose_agent(agents: list[Agent], chosen: str, why: str) -> None:
    decision = choose_agent(incident(), agents)
    assert isinstance(decision, Assigned), why
    assert decision.agent.agent_id == chosen, why


def test_assigned_reason_names_what_matched() -> None:
    decision = choose_agent(incident(), [agent()])
    assert decision == Assigned(
        agent(), "skills billing:2, network:4; speaks cs; tier 3 >= 3 for critical; load 1/4"
    )


def test_assigned_reason_without_required_skills() -> None:
    decision = choose_agent(incident(Severity.LOW, "en", ()), [agent(tier=1, active_count=0)])
    assert isinstance(decision, Assigned)
    assert decision.reason == "no skills required; speaks en; tier 1 >= 1 for low; load 0/4"


@pytest.mark.parametrize(
    ("agents", "reason"),
    [
        ([], "no agent is online (needs one who speaks pl with skills network)"),
        (
            [agent(presence="away", languages=frozenset({"pl"}))],
            "no agent is online (needs one who speaks pl with skills network)",
        ),
        ([agent()], "no online agent speaks pl with skills network"),
        (
            [agent(languages=frozenset({"pl"}), skills={"billing": 5})],
            "no online agent speaks pl with skills network",
        ),
        (
            [agent(languages=frozenset({"pl"}), tier=2)],
            "no online agent who speaks pl with skills network has tier >= 3 for critical",
        ),
        (
            [
                agent("a", languages=frozenset({"pl"}), active_count=4),
                agent("b", languages=frozenset({"pl"}), capacity=0, active_count=0),
            ],
            "all 2 online agents who speak pl with skills network at tier >= 3 are at capacity",
        ),
    ],
)
def test_queued_reason_names_the_missing_requirement(agents: list[Agent], reason: str) -> None:
    assert choose_agent(incident(language="pl", skills=("network",)), agents) == Queued(reason)


@pytest.mark.parametrize(
    ("raw", "normalized"),
    [("en", "en"), ("en-US", "en"), ("CS", "cs"), (" pl ", "pl"), ("zh-Hant-TW", "zh")],
)
def test_normalize_language(raw: str, normalized: str) -> None:
    assert normalize_language(raw) == normalized


def test_normalize_skills_sorts_lowercases_and_dedupes() -> None:
    assert normalize_skills(["Network", "billing", "network", " "]) == ("billing", "network")


def queued(incident_id: str, severity: Severity, minutes: int, language: str = "cs") -> Incident:
    return incident(severity, language, ("network",), incident_id, T0 + timedelta(minutes=minutes))


@pytest.mark.parametrize(
    ("free_agent", "queue", "placed"),
    [
        # most severe first, then the longest waiting
        (
            agent(active_count=2),
            [
                queued("low", Severity.LOW, 0),
                queued("crit", Severity.CRITICAL, 9),
                queued("high-late", Severity.HIGH, 5),
                queued("high-early", Severity.HIGH, 1),
            ],
            ["crit", "high-early"],
        ),
        # skips what the agent cannot take (language) and takes the next
        (
            agent(active_count=3),
            [queued("pl", Severity.CRITICAL, 0, "pl"), queued("cs", Severity.LOW, 5)],
            ["cs"],
        ),
        # a tier-1 agent cannot take the critical one waiting longest
        (
            agent(tier=1, active_count=3),
            [queued("crit", Severity.CRITICAL, 0), queued("med", Severity.MEDIUM, 5)],
            ["med"],
        ),
        (agent(active_count=4), [queued("x", Severity.LOW, 0)], []),
        (agent(presence="away", active_count=0), [queued("x", Severity.LOW, 0)], []),
    ],
)
def test_fill_from_queue(free_agent: Agent, queue: list[Incident], placed: list[str]) -> None:
    placements = fill_from_queue(free_agent, queue)
    assert [p.incident.incident_id for p in placements] == placed
    for index, placement in enumerate(placements):
        assert placement.decision.reason.endswith(
            f"load {free_agent.active_count + index}/{free_agent.capacity}"
        )
        assert placement.agent_after.active_count == free_agent.active_count + index + 1


def test_facts_carry_the_decision() -> None:
    decision = choose_agent(incident(), [agent()])
    assert isinstance(decision, Assigned)
    assert assigned_fact("inc-1", decision, now=T0) == IncidentAssigned(
        incident_id="inc-1",
        agent_id="a",
        agent_name="Agent a",
        reason=decision.reason,
        assigned_at=T0,
    )
    assert queued_fact("inc-1", Queued("nobody"), now=T0) == AssignmentQueued(
        incident_id="inc-1", reason="nobody", queued_at=T0
    )
