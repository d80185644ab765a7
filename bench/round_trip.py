"""What one database round trip costs on this machine: the floor under every statement.

One prepared `SELECT $1::int + 1`, awaited `count` times in a row on one asyncpg connection (on
uvloop, as the services run), over TCP to the stack's PostgreSQL and over its Unix socket, in
alternating rounds. Per round trip: wall time, this process's CPU (and the kernel's share of
it) and the server backend's CPU, from /proc. An incident runs some 80 statements across the
four services, each one such round trip plus its own work, so this floor times 80 is CPU that
no change inside a statement can save; only fewer statements can.
"""

import resource
import statistics
import time
from dataclasses import dataclass

import asyncpg
from incident_devstack.paths import StackPaths
from sqlalchemy.engine import make_url

from bench.cpu_time import cpu_seconds
from bench.report import Outcome, Table


@dataclass(frozen=True)
class RoundTripPlan:
    count: int = 20_000
    rounds: int = 3


async def run_round_trip(env: dict[str, str], plan: RoundTripPlan) -> Outcome:
    url = make_url(env["DATABASE_URL"])
    tcp = f"postgresql://{url.username}@{url.host}:{url.port}/{url.database}"
    socket_dir = StackPaths.discover().postgres / "run"
    unix = f"postgresql://{url.username}@/{url.database}?host={socket_dir}&port={url.port}"
    runs: dict[str, list[dict[str, float]]] = {"TCP (127.0.0.1)": [], "Unix socket": []}
    for _ in range(plan.rounds):
        runs["TCP (127.0.0.1)"].append(await _measure(tcp, plan.count))
        runs["Unix socket"].append(await _measure(unix, plan.count))
    figures: dict[str, object] = {"count": plan.count, "rounds": plan.rounds}
    rows = []
    for name, measured in runs.items():
        median = {key: statistics.median(run[key] for run in measured) for key in measured[0]}
        figures[name] = {"median_us": median, "runs_us": measured}
        rows.append((name, *(round(median[key], 1) for key in _KEYS)))
    table = Table(
        title=f"one round trip, {plan.count:,} in a row, median of {plan.rounds} rounds (µs)",
        columns=("connection", "wall", "client CPU", "of it kernel", "server CPU"),
        rows=rows,
        notes=["client: this process (asyncpg on uvloop); server: the connection's backend"],
    )
    return Outcome("roundtrip", figures, table)


_KEYS = ("wall", "client_cpu", "client_kernel", "server_cpu")


async def _measure(dsn: str, count: int) -> dict[str, float]:
    connection = await asyncpg.connect(dsn)
    try:
        backend = await connection.fetchval("SELECT pg_backend_pid()")
        statement = await connection.prepare("SELECT $1::int + 1")
        for value in range(500):  # warm: plans, caches, the connection's buffers
            await statement.fetchval(value)
        server_before = _backend_seconds(backend)
        before = resource.getrusage(resource.RUSAGE_SELF)
        started = time.perf_counter()
        for value in range(count):
            await statement.fetchval(value)
        wall = time.perf_counter() - started
        after = resource.getrusage(resource.RUSAGE_SELF)
        server_after = _backend_seconds(backend)
    finally:
        await connection.close()
    user, system = after.ru_utime - before.ru_utime, after.ru_stime - before.ru_stime
    per = 1e6 / count
    return {
        "wall": wall * per,
        "client_cpu": (user + system) * per,
        "client_kernel": system * per,
        "server_cpu": (server_after - server_before) * per,
    }


def _backend_seconds(pid: int) -> float:
    return cpu_seconds({"backend": pid})["backend"]  # a backend has no children
