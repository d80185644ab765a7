"""The `cpu` benchmark: CPU time each component of the stack spends per incident, at a fixed
open-loop rate, read from /proc before and after, net of what the stack burns when idle."""

from dataclasses import asdict, dataclass
from uuid import uuid4

from bench import database_work, kafka_work
from bench.agents import agents_for, online_agents
from bench.cpu_time import Window, idle_rate, read_cpu, wait_until_quiet
from bench.pipeline import Load, StepFigures, open_load, post_and_time
from bench.report import Outcome, Table
from bench.stack import stack_processes
from bench.stats import growth_per_incident

# The system; the SMTP sink stands in for a mail server and is reported outside the total.
SYSTEM = ("intake", "router", "sla", "notifier", "kafka", "postgres")
# Above the idle rate by this much (in cores), the stack is still working off the run.
SETTLED_MARGIN_CORES = 0.05
# Enough for the fixed rate: each connection serves one POST at a time.
CONNECTIONS = 64


@dataclass(frozen=True)
class CpuPlan:
    rate: float = 50.0
    seconds: float = 20.0
    warmup_seconds: float = 3.0
    idle_seconds: float = 5.0
    drain_seconds: float = 15.0
    settle_timeout_seconds: float = 60.0
    quiet_cores: float = 0.25
    target_ms: float = 4.0


@dataclass(frozen=True)
class Measured:
    """The measured run: its POSTs' figures and the CPU read around it and at idle."""

    step: StepFigures
    idle: Window
    loaded: Window  # from just before the first POST until the stack settled after the last
    settled: bool
    database: dict[str, float]  # PostgreSQL's transactions and rows per incident (gross)
    kafka: dict[str, float]  # the broker's records per incident (gross)


async def run_cpu(env: dict[str, str], plan: CpuPlan) -> Outcome:
    roots = stack_processes()
    missing = [name for name in SYSTEM if name not in roots]
    if missing:
        print(f"  not processes of the local stack, so not measured: {', '.join(missing)}")
    measured = await _measure(env, roots, plan)
    components = per_incident(measured.loaded, measured.idle, incidents=measured.step.accepted)
    total = round(sum(components[name]["ms_per_incident"] for name in SYSTEM if name in roots), 2)
    figures = {
        "parameters": asdict(plan),
        "incidents": measured.step.accepted,
        "window_seconds": round(measured.loaded.seconds, 1),
        "settled": measured.settled,
        "not_measured": missing,
        "components": components,
        "total_ms_per_incident": total,
        "step": asdict(measured.step),
        "database_per_incident": measured.database,
        "kafka_per_incident": measured.kafka,
    }
    return Outcome("cpu", figures, _table(components, total, measured, plan))


async def _measure(env: dict[str, str], roots: dict[str, int], plan: CpuPlan) -> Measured:
    """Warm up, read the idle rate, then post at the rate and read until the stack settled."""
    run = uuid4().hex[:8]
    skill = f"bench-{run}"
    count = round(plan.rate * (plan.seconds + plan.warmup_seconds))
    async with (
        open_load(env, connections=CONNECTIONS) as load,
        online_agents(load.api, load.router_url, skill=skill, count=agents_for(count)),
    ):
        if plan.warmup_seconds:
            await _post(load, plan, run=f"{run}-w", skill=skill, seconds=plan.warmup_seconds)
        await wait_until_quiet(roots, cores=plan.quiet_cores, timeout=plan.settle_timeout_seconds)
        counted = await database_work.read_counts(env["DATABASE_URL"])  # the warm-up's too
        servers = env["KAFKA_BOOTSTRAP_SERVERS"]
        stored = await kafka_work.read_counts(servers)
        idle = await idle_rate(roots, seconds=plan.idle_seconds)
        started = read_cpu(roots)
        step = await _post(load, plan, run=run, skill=skill, seconds=plan.seconds)
        settled_below = idle.system_cores(SYSTEM) + SETTLED_MARGIN_CORES
        busy = await wait_until_quiet(
            roots, cores=settled_below, timeout=plan.settle_timeout_seconds
        )
        loaded = read_cpu(roots).since(started)
        kafka = growth_per_incident(
            stored, await kafka_work.read_counts(servers), incidents=step.accepted
        )
        database = growth_per_incident(
            counted, await database_work.read_counts(env["DATABASE_URL"]), incidents=step.accepted
        )
    settled = busy < settled_below
    return Measured(step, idle, loaded, settled=settled, database=database, kafka=kafka)


async def _post(load: Load, plan: CpuPlan, *, run: str, skill: str, seconds: float) -> StepFigures:
    count = max(1, round(plan.rate * seconds))
    return await post_and_time(
        load, skill=skill, run=run, rate=plan.rate, count=count, drain=plan.drain_seconds
    )


def per_incident(loaded: Window, idle: Window, *, incidents: int) -> dict[str, dict[str, float]]:
    """Each component's CPU per incident: gross, and net of its idle rate over the window."""
    figures = {}
    for name, seconds in loaded.used.items():
        idle_cores = idle.used.get(name, 0.0) / idle.seconds
        net = seconds - idle_cores * loaded.seconds
        figures[name] = {
            "cpu_seconds": round(seconds, 3),
            "idle_cores": round(idle_cores, 3),
            "ms_per_incident": round(net * 1000 / max(incidents, 1), 2),
            "gross_ms_per_incident": round(seconds * 1000 / max(incidents, 1), 2),
        }
        if name in loaded.runs:
            ran = loaded.runs[name]
            figures[name]["runs_per_incident"] = round(ran / max(incidents, 1), 1)
            figures[name]["ms_per_run"] = round(seconds * 1000 / max(ran, 1), 3)
    return figures


def _table(
    components: dict[str, dict[str, float]], total: float, measured: Measured, plan: CpuPlan
) -> Table:
    def row(name: str) -> tuple[object, ...]:
        figures = components[name]
        return (
            name if name in SYSTEM else f"({name})",
            figures["cpu_seconds"],
            round(figures["idle_cores"] * 1000),
            figures["ms_per_incident"],
            figures["gross_ms_per_incident"],
            figures.get("runs_per_incident"),
            figures.get("ms_per_run"),
        )

    system = [name for name in SYSTEM if name in components]
    others = [name for name in components if name not in SYSTEM]
    gross_total = round(sum(components[name]["gross_ms_per_incident"] for name in system), 2)
    return Table(
        title=(
            f"cpu: {measured.step.accepted} incidents at {plan.rate:g}/s, "
            f"{measured.loaded.seconds:.1f} s until the stack settled"
            + ("" if measured.settled else " (it did not settle: the figures are low)")
        ),
        columns=(
            "component",
            "CPU s",
            "idle ms/s",
            "ms/incident",
            "gross ms/incident",
            "runs/incident",
            "ms/run",
        ),
        rows=[
            *map(row, system),
            ("total", None, None, total, gross_total, _total_runs(components, system), None),
            *map(row, others),
        ],
        notes=[
            f"target: total ≤ {plan.target_ms:g} ms per incident, net of idle; "
            "(parenthesised) rows are outside the total",
            "runs: the times a component's threads were put on a CPU (gross), nearly each a "
            "wake-up by a message, reply or timer; ms/run: gross CPU per run",
            _database_note(measured.database),
            f"Kafka per incident (gross): {measured.kafka['produced']:g} records produced, "
            f"{measured.kafka['offset_commits']:g} offset-commit records",
        ],
    )


def _total_runs(components: dict[str, dict[str, float]], system: list[str]) -> float | None:
    runs = [components[name].get("runs_per_incident") for name in system]
    return None if None in runs else round(sum(r for r in runs if r is not None), 1)


def _database_note(database: dict[str, float]) -> str:
    statements = database.get("statements")
    return (
        "PostgreSQL per incident (gross, timers included): "
        + ("" if statements is None else f"{statements:g} statements, ")
        + f"{database['commits']:g} commits, "
        f"{database['rollbacks']:g} rollbacks, {database['inserted']:g} rows inserted, "
        f"{database['updated']:g} updated, {database['deleted']:g} deleted"
    )
