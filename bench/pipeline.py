"""One step of the whole pipeline under open-loop load: POST incidents to intake at a fixed rate
and time each, from its POST's due time, until router's `incident.assigned.v1` for it is on
Kafka."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import httpx
from incident_events.topics import Topic

from bench.agents import agents_for, online_agents
from bench.assignments import ASSIGNED, EventWatch, watch_events
from bench.http_pool import HttpPool
from bench.incidents import new_incident
from bench.open_loop import Sends, post_on_schedule
from bench.stats import summarize

# A POST not answered in this time counts as a timeout.
POST_TIMEOUT_S = 10.0


@dataclass(frozen=True)
class StepFigures:
    """One rate's figures; latencies in milliseconds, POST→assigned unless named otherwise."""

    rate_per_second: float
    sent: int
    sent_per_second: float
    accepted: int  # answered 2xx
    assigned: int
    assigned_per_second: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    mean_ms: float
    post_response_p50_ms: float
    post_response_p99_ms: float
    post_errors: int  # non-2xx answers and failed connections
    post_timeouts: int
    unassigned: int  # accepted, but not assigned within the drain time
    error_fraction: float
    generator_lag_max_ms: float  # how late the load generator sent; large means it fell behind
    failures: dict[str, int] = field(default_factory=dict)
    first_failure: str = ""

    @property
    def errors(self) -> int:
        return self.post_errors + self.post_timeouts + self.unassigned


@dataclass(frozen=True)
class Load:
    """What a step talks to: router's API for its agents, intake through the lean pool, and the
    watch on assignments."""

    api: httpx.AsyncClient
    router_url: str
    intake: HttpPool
    watch: EventWatch


@asynccontextmanager
async def open_load(
    env: dict[str, str],
    *,
    connections: int,
    topics: tuple[Topic, ...] = (Topic.ASSIGNMENTS,),
    types: tuple[str, ...] = (ASSIGNED,),
) -> AsyncIterator[Load]:
    """The load's clients, and a watch of `types` on `topics` (the assignments at least)."""
    auth = {"Authorization": f"Bearer {env['API_KEY']}"}
    intake = HttpPool(env["INTAKE_URL"], size=connections, headers=auth)
    try:
        async with (
            httpx.AsyncClient(headers=auth, timeout=30) as api,
            watch_events(env["KAFKA_BOOTSTRAP_SERVERS"], topics, types) as watch,
        ):
            yield Load(api, env["ROUTER_URL"], intake, watch)
    finally:
        intake.close()


async def measure_step(
    load: Load, *, run: str, rate: float, count: int, drain: float
) -> StepFigures:
    """Post `count` incidents at `rate` to agents of their own, then wait up to `drain` seconds
    for their assignments."""
    skill = f"bench-{run}"
    async with online_agents(load.api, load.router_url, skill=skill, count=agents_for(count)):
        return await post_and_time(load, skill=skill, run=run, rate=rate, count=count, drain=drain)


async def post_and_time(
    load: Load, *, skill: str, run: str, rate: float, count: int, drain: float
) -> StepFigures:
    """Post `count` incidents needing `skill` (online agents have it) at `rate`, then wait up to
    `drain` seconds for their assignments."""
    sends = await post_and_wait(load, skill=skill, run=run, rate=rate, count=count, drain=drain)
    return step_figures(sends, load.watch.assigned_at, rate=rate, count=count)


async def post_and_wait(
    load: Load, *, skill: str, run: str, rate: float, count: int, drain: float
) -> Sends:
    """`post_and_time`'s POSTs and wait, with what the POSTs gave."""
    sends = await post_on_schedule(
        load.intake,
        "/v1/incidents",
        rate=rate,
        count=count,
        request=lambda index: new_incident(f"{run}-{index}", skill=skill),
        timeout=POST_TIMEOUT_S,
    )
    await load.watch.wait_for(sends.due_at, timeout=drain)
    return sends


def step_figures(
    sends: Sends, assigned_at: dict[str, float], *, rate: float, count: int
) -> StepFigures:
    done = {key: assigned_at[key] for key in sends.due_at if key in assigned_at}
    latencies = [done[key] - sends.due_at[key] for key in done]
    last_assigned = max(done.values(), default=sends.finished_sending)
    assigned = summarize(latencies, max(last_assigned - sends.started, 1e-9))
    answers = summarize(sends.answer_seconds, 1.0)
    unassigned = len(sends.due_at) - len(done)
    errors = sends.failed + sends.timeouts + unassigned
    return StepFigures(
        rate_per_second=rate,
        sent=count,
        sent_per_second=_send_rate(sends, count),
        accepted=len(sends.due_at),
        assigned=len(done),
        assigned_per_second=assigned["throughput_per_second"],
        p50_ms=assigned["p50_ms"],
        p95_ms=assigned["p95_ms"],
        p99_ms=assigned["p99_ms"],
        mean_ms=assigned["mean_ms"],
        post_response_p50_ms=answers["p50_ms"],
        post_response_p99_ms=answers["p99_ms"],
        post_errors=sends.failed,
        post_timeouts=sends.timeouts,
        unassigned=unassigned,
        error_fraction=round(errors / count, 4) if count else 0.0,
        generator_lag_max_ms=round(sends.max_lag * 1000, 1),
        failures=dict(sends.failures),
        first_failure=sends.first_failure,
    )


def _send_rate(sends: Sends, count: int) -> float:
    """The rate the POSTs actually left at: below the asked rate when the generator fell behind."""
    span = sends.finished_sending - sends.started
    return round((count - 1) / span, 1) if count > 1 and span > 0 else 0.0
