"""`make faults`: the fault suite on the local stack, which it brings up first.

    python -m faults [--short] [--only NAME ...] [--rate N] [--results-dir DIR] [--restore]

Prints a table, writes faults/results/<time>-<suite>.json, and exits 1 when any acknowledged
incident lost or doubled an effect, a dead letter was left that no poison explains, or the stack
did not settle in time.
"""

import argparse
import os
import shlex
import sys
import time
from dataclasses import asdict
from pathlib import Path
from uuid import uuid4

import httpx
import uvloop
from incident_devstack.paths import StackPaths

from faults.preparation import put_policy
from faults.report import RESULTS, problems, table, write_result
from faults.runner import Scenario, ScenarioResult, Timing, run_scenario
from faults.scenarios import (
    INTAKE_WORKERS,
    KILL_INTAKE_WORKER,
    SuiteOptions,
    full_suite,
    scenario_names,
    short_suite,
)
from faults.stack import LocalStack, StackFault

FULL_TIMING = {"warmup_s": 3.0, "hold_s": 5.0}
SHORT_TIMING = {"warmup_s": 2.0, "hold_s": 3.0}


def parse_arguments(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m faults", description=__doc__.split("\n")[0])
    parser.add_argument("--short", action="store_true", help="the short suite `make test` runs")
    parser.add_argument(
        "--only",
        nargs="+",
        choices=scenario_names(),
        metavar="NAME",
        help="these scenarios: " + ", ".join(scenario_names()),
    )
    parser.add_argument("--rate", type=float, default=SuiteOptions.rate, help="incidents/s")
    parser.add_argument("--burst-rate", type=float, default=SuiteOptions.burst_rate)
    parser.add_argument("--smtp-outage", type=float, default=SuiteOptions.smtp_outage_s)
    parser.add_argument("--postgres-hang", type=float, default=SuiteOptions.postgres_hang_s)
    parser.add_argument("--results-dir", type=Path, default=RESULTS)
    parser.add_argument(
        "--restore", action="store_true", help="stop afterwards what the suite had to start"
    )
    return parser.parse_args(argv)


async def run_suite(
    scenarios: list[Scenario], stack: LocalStack, *, timing: Timing
) -> list[ScenarioResult]:
    await stack.up()
    env = stack.env()
    async with httpx.AsyncClient(headers={"Authorization": f"Bearer {env['API_KEY']}"}) as api:
        await put_policy(api, env["SLA_URL"])
    run = f"{time.strftime('%m%d%H%M')}{uuid4().hex[:4]}"
    results: list[ScenarioResult] = []
    for scenario in scenarios:
        print(f"{scenario.name}: running", flush=True)
        try:
            result = await run_scenario(scenario, stack, timing=timing, run=run)
        except Exception as error:  # the scenario fails, the suite goes on
            result = ScenarioResult.broken(scenario, error)
        results.append(result)
        verdict = "ok" if result.ok else "FAILED: " + "; ".join(problems(result))
        print(f"{scenario.name}: {result.acknowledged} acknowledged, {verdict}", flush=True)
        if result.error:
            await stack.up()  # whatever the failed injection left down; raises if it cannot
    return results


def main(argv: list[str]) -> int:
    args = parse_arguments(argv)
    options = SuiteOptions(
        rate=args.rate,
        burst_rate=args.burst_rate,
        postgres_hang_s=args.postgres_hang,
        smtp_outage_s=args.smtp_outage,
    )
    suite = "short" if args.short else "full"
    scenarios = short_suite(options) if args.short else full_suite(options)
    if args.only:
        scenarios = [s for s in scenarios if s.name in args.only]
    timing = Timing(rate=args.rate, **(SHORT_TIMING if args.short else FULL_TIMING))
    stack = LocalStack(StackPaths.discover())
    found = stack.found()
    if any(scenario.name == KILL_INTAKE_WORKER for scenario in scenarios):
        # The whole suite then runs intake in several processes, as a two-core machine would.
        os.environ["INTAKE_PROCESSES"] = str(INTAKE_WORKERS)
        stack.restart_with_workers("intake", INTAKE_WORKERS)
    try:
        results = uvloop.run(run_suite(scenarios, stack, timing=timing))
    except StackFault as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    finally:
        if args.restore:
            stack.restore(found)
    print(table(results, title=f"Fault suite ({suite}), {args.rate:g} incidents/s"))
    command = shlex.join(["python", "-m", "faults", *argv])
    parameters = {"options": asdict(options), "timing": asdict(timing)}
    path = write_result(
        results, suite=suite, command=command, parameters=parameters, directory=args.results_dir
    )
    print(f"result: {path}")
    return 0 if all(result.ok for result in results) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
