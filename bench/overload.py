"""Overload: intake offered more than it can take, open loop, then back to a normal rate.

Phases, each with its own figures: `normal` (a rate intake sustains), `overload` (several times
that), `after` (the normal rate again). For each: offered and accepted per second, p50/p99 of
the accepted answers, the share answered 503 (shed, with Retry-After) and of timeouts. The
recovery time is how long after the overload ended the answers of the `after` phase stayed
slower than twice the normal phase's p99 (0 when the first ones were already normal).
"""

import time
from collections.abc import Callable
from dataclasses import dataclass
from uuid import uuid4

from bench.http_pool import HttpPool
from bench.incidents import IncidentRequest, new_incident
from bench.open_loop import Sends, post_on_schedule
from bench.report import Outcome, Table
from bench.stats import percentile


@dataclass(frozen=True)
class OverloadPlan:
    normal_rate: float = 20
    overload_rate: float = 400
    phase_seconds: float = 10
    timeout_seconds: float = 10
    connections: int = 1024


async def run_overload(env: dict[str, str], plan: OverloadPlan) -> Outcome:
    auth = {"Authorization": f"Bearer {env['API_KEY']}"}
    pool = HttpPool(env["INTAKE_URL"], size=plan.connections, headers=auth)
    run = uuid4().hex[:8]
    phases: list[tuple[str, float, Sends, float]] = []
    for name, rate in (
        ("normal", plan.normal_rate),
        ("overload", plan.overload_rate),
        ("after", plan.normal_rate),
    ):
        count = int(rate * plan.phase_seconds)
        sends = await post_on_schedule(
            pool,
            "/v1/incidents",
            rate=rate,
            count=count,
            request=_requests(f"{run}-{name}", skill=f"overload-{run}"),
            timeout=plan.timeout_seconds,
        )
        phases.append((name, rate, sends, time.perf_counter()))
    normal_p99 = percentile(phases[0][2].answer_seconds, 0.99)
    recovery = _recovery_seconds(phases[2][2], limit=2 * normal_p99)
    rows = [_row(name, rate, sends, plan) for name, rate, sends, _ in phases]
    table = Table(
        title=f"overload: open loop, {plan.phase_seconds:g} s per phase",
        columns=("phase", "offered/s", "accepted/s", "p50 ms", "p99 ms", "503 %", "timeouts %"),
        rows=list[tuple[object, ...]](rows),
        notes=[
            f"recovery: answers back under 2 x normal p99 ({2 * normal_p99 * 1000:.1f} ms) "
            f"{recovery:.1f} s after the overload ended"
        ],
    )
    figures: dict[str, object] = {
        "plan": plan.__dict__,
        "phases": [dict(zip(table.columns, row, strict=True)) for row in rows],
        "recovery_seconds": round(recovery, 2),
    }
    return Outcome("overload", figures, table)


def _requests(prefix: str, *, skill: str) -> Callable[[int], IncidentRequest]:
    return lambda index: new_incident(f"{prefix}-{index}", skill=skill)


def _row(name: str, rate: float, sends: Sends, plan: OverloadPlan) -> tuple[object, ...]:
    count = int(rate * plan.phase_seconds)
    answers = sends.answer_seconds
    shed = sends.failures.get("HTTP 503", 0)
    return (
        name,
        rate,
        round(len(answers) / plan.phase_seconds, 1),
        round(percentile(answers, 0.5) * 1000, 1) if answers else None,
        round(percentile(answers, 0.99) * 1000, 1) if answers else None,
        round(100 * shed / count, 1),
        round(100 * sends.timeouts / count, 1),
    )


def _recovery_seconds(after: Sends, *, limit: float) -> float:
    """Seconds from the start of the `after` phase to the last slow answer due in it."""
    slow = [due for due, seconds in after.due_and_seconds if seconds > limit]
    return max(slow) - after.started if slow else 0.0
