"""`make bench`: the benchmark suite against the running stack, one result file per benchmark
in bench/results/ and a table for each on the terminal.

    python -m bench [pipeline|cpu|intake|all ...] [--quick] [options]
"""

import argparse
import logging
import shlex
import sys
from collections.abc import Awaitable, Callable
from dataclasses import fields, replace
from typing import Any

import uvloop

from bench.consumer_overhead import OverheadPlan, run_overhead
from bench.cpu import CpuPlan, run_cpu
from bench.cpu_time import wait_until_quiet
from bench.intake_alone import IntakePlan, run_intake
from bench.overload import OverloadPlan, run_overload
from bench.report import RESULTS, Outcome, render, write_result
from bench.round_trip import RoundTripPlan, run_round_trip
from bench.stack import stack_env, stack_processes
from bench.stages import StagesPlan, run_stages
from bench.sweep import SweepPlan, run_sweep

# In this order: the intake benchmark leaves a backlog the rest of the stack works off for a while.
ORDER = ("pipeline", "stages", "cpu", "consumer", "intake", "overload", "roundtrip")
# Small enough to check that every benchmark runs end to end in about two minutes.
QUICK = {
    "pipeline": SweepPlan(
        rates=(10, 20),
        step_seconds=3,
        min_incidents_per_step=1,
        warmup_seconds=1,
        drain_seconds=10,
        baseline_count=100,
        baseline_rate=50,
    ),
    "stages": StagesPlan(rate=10, seconds=3, drain_seconds=10),
    "cpu": CpuPlan(rate=20, seconds=5, warmup_seconds=1, idle_seconds=3),
    "consumer": OverheadPlan(events=2000),
    "intake": IntakePlan(seconds=3, warmup_seconds=1, repeats=1),
    "overload": OverloadPlan(normal_rate=10, overload_rate=100, phase_seconds=3),
    "roundtrip": RoundTripPlan(count=2000, rounds=1),
}
# Command-line option -> (benchmark, field of its plan).
OPTIONS: dict[str, tuple[str, str]] = {
    "rates": ("pipeline", "rates"),
    "step_seconds": ("pipeline", "step_seconds"),
    "min_incidents": ("pipeline", "min_incidents_per_step"),
    "warmup_seconds": ("pipeline", "warmup_seconds"),
    "drain_seconds": ("pipeline", "drain_seconds"),
    "p99_target_ms": ("pipeline", "p99_target_ms"),
    "pool_size": ("pipeline", "connections"),
    "stages_rate": ("stages", "rate"),
    "stages_seconds": ("stages", "seconds"),
    "cpu_rate": ("cpu", "rate"),
    "cpu_seconds": ("cpu", "seconds"),
    "intake_seconds": ("intake", "seconds"),
    "connections": ("intake", "connections"),
    "intake_processes": ("intake", "processes"),
}
DEFAULTS: dict[str, Any] = {
    "pipeline": SweepPlan(),
    "stages": StagesPlan(),
    "cpu": CpuPlan(),
    "consumer": OverheadPlan(),
    "intake": IntakePlan(),
    "overload": OverloadPlan(),
    "roundtrip": RoundTripPlan(),
}


def _rates(text: str) -> tuple[float, ...]:
    return tuple(float(rate) for rate in text.split(",") if rate.strip())


def parse_arguments(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    # Checked below, not with `choices`: Python 3.11's argparse rejects an empty list then.
    parser.add_argument("benchmarks", nargs="*", help=f"of {', '.join(ORDER)}; all by default")
    parser.add_argument("--quick", action="store_true", help="short runs: checks, not figures")
    parser.add_argument("--rates", type=_rates, help="pipeline: rates per second, e.g. 25,50,100")
    parser.add_argument("--step-seconds", type=float, help="pipeline: seconds per rate")
    parser.add_argument(
        "--min-incidents", type=int, help="pipeline: fewest incidents per rate (1000)"
    )
    parser.add_argument("--warmup-seconds", type=float, help="pipeline: unmeasured, at 50/s")
    parser.add_argument("--drain-seconds", type=float, help="pipeline: wait for assignments")
    parser.add_argument("--p99-target-ms", type=float, help="pipeline: p99 a rate must meet")
    parser.add_argument("--pool-size", type=int, help="pipeline: HTTP connections at most")
    parser.add_argument("--cpu-rate", type=float, help="cpu: incidents per second")
    parser.add_argument("--cpu-seconds", type=float, help="cpu: seconds at that rate")
    parser.add_argument("--intake-seconds", type=float, help="intake: seconds of wrk per server")
    parser.add_argument("--connections", type=int, help="intake: wrk's concurrent connections")
    parser.add_argument("--stages-rate", type=float, help="stages: incidents per second (10)")
    parser.add_argument("--stages-seconds", type=float, help="stages: seconds of load (20)")
    parser.add_argument(
        "--intake-processes", type=int, help="intake: worker processes of intake alone and echo"
    )
    parser.add_argument("--quiet-cores", type=float, default=0.25, help="busy below: quiet")
    parser.add_argument("--quiet-timeout", type=float, default=180, help="longest quiet wait")
    arguments = parser.parse_args(argv)
    unknown = set(arguments.benchmarks) - {*ORDER, "all"}
    if unknown:
        parser.error(f"no benchmark {', '.join(sorted(unknown))}: choose from {', '.join(ORDER)}")
    return arguments


def plans(arguments: argparse.Namespace) -> dict[str, Any]:
    """Each benchmark's plan: its defaults (or --quick's), then the options given."""
    chosen = dict(QUICK if arguments.quick else DEFAULTS)
    for option, (benchmark, field) in OPTIONS.items():
        value = getattr(arguments, option)
        if value is not None:
            chosen[benchmark] = replace(chosen[benchmark], **{field: value})
    return chosen


async def run(arguments: argparse.Namespace) -> None:
    env, chosen = stack_env(), plans(arguments)
    asked = set(arguments.benchmarks or ["all"])
    selected = [name for name in ORDER if {name, "all"} & asked]
    runners: dict[str, Callable[[dict[str, str], Any], Awaitable[Outcome]]] = {
        "pipeline": run_sweep,
        "stages": run_stages,
        "cpu": run_cpu,
        "consumer": run_overhead,
        "intake": run_intake,
        "overload": run_overload,
        "roundtrip": run_round_trip,
    }
    command = shlex.join(["python", "-m", "bench", *sys.argv[1:]])
    for name in selected:
        print(f"{name}: {_describe(chosen[name])}")
        busy = await wait_until_quiet(
            stack_processes(), cores=arguments.quiet_cores, timeout=arguments.quiet_timeout
        )
        if busy >= arguments.quiet_cores:
            print(f"  the stack is still busy ({busy:.2f} cores): measuring anyway")
        outcome = await runners[name](env, chosen[name])
        outcome.figures["stack_busy_cores_before"] = round(busy, 3)
        path = write_result(outcome, command=command)
        print(f"\n{render(outcome.table)}\nwritten to {path.relative_to(RESULTS.parent.parent)}\n")


def _describe(plan: Any) -> str:
    return ", ".join(f"{field.name}={getattr(plan, field.name)}" for field in fields(plan))


def main() -> None:
    # The consumer benchmark sets up the kit's logging, after which httpx would log each
    # readiness probe of the servers the later benchmarks start, in between their tables.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    uvloop.run(run(parse_arguments(sys.argv[1:])))


if __name__ == "__main__":
    main()
