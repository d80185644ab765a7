"""The `intake` benchmark: incidents per second that intake's POST /v1/incidents accepts, closed
loop (wrk, N connections), against a bare FastAPI echo of the same body, served the same way,
in the same run.

Intake is measured twice: alone (an intake of the benchmark's own, on its own database and
topics, committing and publishing every report while no other service consumes them:
`bench.lone_intake`), which is the figure the target is about, and in the stack, where what it
accepts flows on to router, sla and notifier, which share the two cores with it.

Intake alone and the echo run the same number of worker processes (`processes`, one per core
of this machine, as the README's sizing advises); intake alone is also measured once in a
single process, the figure of earlier results."""

import asyncio
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from uuid import uuid4

from incident_devstack.processes import free_port

from bench.cpu_time import read_cpu
from bench.lone_intake import lone_intake
from bench.report import Outcome, Table
from bench.server_process import stopped_at_exit, wait_ready
from bench.stack import stack_processes
from bench.wrk import WrkRun, run_wrk

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class IntakePlan:
    seconds: float = 15.0
    warmup_seconds: float = 3.0
    connections: int = 32
    target_per_second: float = 2500.0
    minimum_per_second: float = 1000.0
    # Intake alone is measured this many times and its median run reported: on this machine
    # one run of unchanged code ranges over ±15 %, more than most changes move it.
    repeats: int = 3
    # Worker processes of intake alone and of the echo (INTAKE_PROCESSES); the stack's intake
    # runs what the stack configured.
    processes: int = 2


@dataclass(frozen=True)
class Served:
    """One server under wrk: what wrk counted and the CPU the server's processes used."""

    run: WrkRun
    server_cpu_seconds: float | None  # None: not a process of this machine's stack

    def figures(self) -> dict[str, object]:
        run = self.run
        per_request = 1000 / max(run.requests, 1)
        return {
            "accepted_per_second": round(run.created_per_second, 1),
            "p50_ms": round(run.p50_ms, 2),
            "p99_ms": round(run.p99_ms, 2),
            "errors": run.errors,
            "server_cpu_ms_per_request": None
            if self.server_cpu_seconds is None
            else round(self.server_cpu_seconds * per_request, 3),
            "wrk_cpu_ms_per_request": round(run.wrk_cpu_seconds * per_request, 3),
            "wrk": asdict(run),
        }


async def run_intake(env: dict[str, str], plan: IntakePlan) -> Outcome:
    # A skill no agent has: router queues these incidents instead of filling bench agents.
    skill = f"bench-{uuid4().hex[:8]}"
    async with echo_server(plan.processes) as (echo_url, echo_pid):
        echo = await _measure(echo_url, echo_pid, env, plan, skill)
    print(f"  echo: {echo.run.created_per_second:,.0f}/s")
    async with lone_intake(env, processes=plan.processes) as lone:
        runs = [await _measure(lone.url, lone.pid, env, plan, skill) for _ in range(plan.repeats)]
    rates = [served.run.created_per_second for served in runs]
    alone = sorted(runs, key=lambda served: served.run.created_per_second)[len(runs) // 2]
    print(f"  intake alone: {alone.run.created_per_second:,.0f}/s (median of {_rates(rates)})")
    single = alone
    if plan.processes != 1:
        async with lone_intake(env) as lone:
            single = await _measure(lone.url, lone.pid, env, plan, skill)
        print(f"  intake alone, one process: {single.run.created_per_second:,.0f}/s")
    intake_pid = stack_processes().get("intake")
    in_stack = await _measure(f"{env['INTAKE_URL']}/v1/incidents", intake_pid, env, plan, skill)
    ratio = round(alone.run.created_per_second / max(echo.run.created_per_second, 1e-9), 3)
    figures = {
        "parameters": asdict(plan),
        "echo": echo.figures(),
        "intake": alone.figures(),
        "intake_runs_accepted_per_second": [round(rate, 1) for rate in rates],
        "intake_one_process": single.figures(),
        "intake_in_stack": in_stack.figures(),
        "ratio_intake_to_echo": ratio,
    }
    table = _table(echo, alone, single, in_stack, ratio, plan, rates)
    return Outcome("intake", figures, table)


async def _measure(
    url: str, pid: int | None, env: dict[str, str], plan: IntakePlan, skill: str
) -> Served:
    """A warm-up run of wrk, then the measured one, with the server's CPU read around it."""

    async def load(seconds: float) -> WrkRun:
        return await run_wrk(
            url,
            seconds=seconds,
            connections=plan.connections,
            api_key=env["API_KEY"],
            run_id=uuid4().hex[:12],
            skill=skill,
        )

    if plan.warmup_seconds:
        await load(plan.warmup_seconds)
    roots = {"server": pid} if pid is not None else {}
    before = read_cpu(roots)
    run = await load(plan.seconds)
    used = read_cpu(roots).since(before).used
    return Served(run, used["server"] if pid is not None else None)


@asynccontextmanager
async def echo_server(processes: int) -> AsyncIterator[tuple[str, int]]:
    """bench.echo_app in processes of its own: (its POST URL, its pid) until the block ends."""
    port = free_port()
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bench.echo_app",
        "--port",
        str(port),
        "--processes",
        str(processes),
        cwd=ROOT,
        stdin=asyncio.subprocess.DEVNULL,
    )
    async with stopped_at_exit(process, timeout=20):
        await wait_ready(
            f"http://127.0.0.1:{port}/readyz", process, name="the echo app", seconds=30
        )
        yield f"http://127.0.0.1:{port}/v1/incidents", process.pid


def _processes(count: int) -> str:
    return f"{count} process" + ("es" if count != 1 else "")


def _rates(rates: list[float]) -> str:
    return ", ".join(f"{rate:,.0f}" for rate in rates) + "/s"


def _table(
    echo: Served,
    alone: Served,
    single: Served,
    in_stack: Served,
    ratio: float,
    plan: IntakePlan,
    rates: list[float],
) -> Table:
    def row(name: str, served: Served) -> tuple[object, ...]:
        figures = served.figures()
        return (
            name,
            figures["accepted_per_second"],
            figures["p50_ms"],
            figures["p99_ms"],
            figures["errors"],
            figures["server_cpu_ms_per_request"],
            figures["wrk_cpu_ms_per_request"],
        )

    return Table(
        title=f"intake: POST /v1/incidents, closed loop, {plan.connections} connections, "
        f"{plan.seconds:g} s",
        columns=(
            "server",
            "accepted/s",
            "p50 ms",
            "p99 ms",
            "errors",
            "server CPU ms/req",
            "wrk CPU ms/req",
        ),
        rows=[
            row(f"echo (FastAPI, same body; {_processes(plan.processes)})", echo),
            row(
                f"intake alone (own database, topics; {_processes(plan.processes)}; "
                f"median of {len(rates)})",
                alone,
            ),
            *([row("intake alone, 1 process", single)] if plan.processes != 1 else []),
            row("intake in the stack", in_stack),
        ],
        notes=[
            f"intake alone / echo: {ratio:.2f}; target {plan.target_per_second:,.0f}/s "
            f"(minimum {plan.minimum_per_second:,.0f}/s)",
            f"intake alone, each run: {_rates(rates)}",
        ],
    )
