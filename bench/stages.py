"""The `stages` benchmark: where an incident's POST→assigned time goes, at a low rate, hop by
hop. The load's watch reads `incident.reported.v1` and `incident.assigned.v1` off Kafka and
keeps, for each, when its producer (a relay) sent it (the record's CreateTime), when the watch
read it, and the event's own time (when the service took the fact up: intake when the report
reached its handler, the router when its handler began, after the batch's inbox claim). All
clocks are this machine's; the producers stamp records in whole milliseconds.

The router reads the reported event when the watch does, give or take, so "router" is what
lies between the watch reading the one and the relay sending the other.
"""

from collections.abc import Callable
from dataclasses import asdict, dataclass
from uuid import uuid4

from incident_events.topics import Topic

from bench.agents import agents_for, online_agents
from bench.assignments import ASSIGNED, REPORTED, Seen
from bench.pipeline import open_load, post_and_wait, step_figures
from bench.report import Outcome, Table
from bench.stats import percentile

# Plenty at a low rate: each connection serves one POST at a time.
CONNECTIONS = 16


@dataclass(frozen=True)
class StagesPlan:
    rate: float = 10.0
    seconds: float = 20.0
    drain_seconds: float = 15.0


# Each stage: its name, and its length from an incident's POST due time and its two events.
STAGES: tuple[tuple[str, Callable[[float, Seen, Seen], float]], ...] = (
    ("intake: POST due → reported sent", lambda due, r, a: r.sent - due),
    ("  of which report received → sent", lambda due, r, a: r.sent - r.made),
    ("Kafka: reported sent → read", lambda due, r, a: r.read - r.sent),
    ("router: reported read → assigned sent", lambda due, r, a: a.sent - r.read),
    ("  of which handler began → sent", lambda due, r, a: a.sent - a.made),
    ("Kafka: assigned sent → read", lambda due, r, a: a.read - a.sent),
    ("POST due → assigned read", lambda due, r, a: a.read - due),
)


def stage_figures(
    due_at: dict[str, float], seen: dict[tuple[str, str], Seen]
) -> dict[str, dict[str, float]]:
    """Per stage, p50/p95/p99 and mean in milliseconds over the incidents seen both times."""
    lengths: dict[str, list[float]] = {name: [] for name, _ in STAGES}
    for incident, due in due_at.items():
        reported, assigned = seen.get((REPORTED, incident)), seen.get((ASSIGNED, incident))
        if reported is None or assigned is None:
            continue
        for name, length in STAGES:
            lengths[name].append(length(due, reported, assigned) * 1000)
    return {
        name: {
            "count": len(values),
            "p50_ms": round(percentile(values, 0.50), 1),
            "p95_ms": round(percentile(values, 0.95), 1),
            "p99_ms": round(percentile(values, 0.99), 1),
            "mean_ms": round(sum(values) / len(values), 1) if values else float("nan"),
        }
        for name, values in lengths.items()
    }


async def run_stages(env: dict[str, str], plan: StagesPlan) -> Outcome:
    run = uuid4().hex[:8]
    skill = f"bench-{run}"
    count = max(1, round(plan.rate * plan.seconds))
    watched = (Topic.INCIDENTS, Topic.ASSIGNMENTS)
    async with (
        open_load(env, connections=CONNECTIONS, topics=watched, types=(REPORTED, ASSIGNED)) as load,
        online_agents(load.api, load.router_url, skill=skill, count=agents_for(count)),
    ):
        sends = await post_and_wait(
            load, skill=skill, run=run, rate=plan.rate, count=count, drain=plan.drain_seconds
        )
        step = step_figures(sends, load.watch.assigned_at, rate=plan.rate, count=count)
        stages = stage_figures(sends.due_at, load.watch.seen)
    figures: dict[str, object] = {
        "parameters": asdict(plan),
        "step": asdict(step),
        "stages": stages,
    }
    answers = (step.post_response_p50_ms, step.post_response_p99_ms)
    return Outcome(
        "stages",
        figures,
        Table(
            title=f"stages: POST→assigned hop by hop, {count} incidents at {plan.rate:g}/s",
            columns=("stage", "p50 ms", "p95 ms", "p99 ms", "mean ms"),
            rows=[
                (name, f["p50_ms"], f["p95_ms"], f["p99_ms"], f["mean_ms"])
                for name, f in stages.items()
            ],
            notes=[
                f"POST answered p50 / p99 {answers[0]:g} / {answers[1]:g} ms; "
                f"{step.assigned} of {step.sent} assigned",
            ],
        ),
    )
