"""The whole local stack: infrastructure (Kafka, PostgreSQL, SMTP sink), services, stack.env.

Servers named by `KAFKA_BOOTSTRAP_SERVERS` / `DATABASE_URL` are used as they are;
only missing ones are started here. Everything already running is reused.
"""

from __future__ import annotations

import os
import shlex
import shutil
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from incident_devstack import kafka, postgres, postgres_cluster, postgres_home, services
from incident_devstack.paths import StackPaths, find_repo_root
from incident_devstack.processes import pid_alive
from incident_devstack.smtp_sink_process import sink_running, start_smtp_sink, stop_smtp_sink
from incident_devstack.state import StackState, load_state, locked_state

INFRA_PORTS = {"kafka": ("kafka", "kafka-controller"), "postgres": ("postgres",)}
INFRA_RUNNING = {"kafka": kafka.kafka_running, "postgres": postgres_cluster.postgres_running}


@dataclass(frozen=True)
class Infra:
    """Where the infrastructure is: what tests and services connect to."""

    kafka_bootstrap_servers: str
    database_url: str
    stack_dir: Path


@dataclass(frozen=True)
class UpReport:
    infra: Infra
    smtp_port: int
    started: tuple[str, ...]
    services: tuple[str, ...]
    seeded: int


def ensure_infra(paths: StackPaths, state: StackState, started: list[str] | None = None) -> Infra:
    """Kafka and PostgreSQL reachable; what this call starts is appended to `started`."""
    started = [] if started is None else started
    external_kafka = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    external_db = os.environ.get("DATABASE_URL")
    starters: dict[str, Callable[[StackPaths, StackState], bool]] = {}
    if not external_kafka:
        starters["kafka"] = kafka.start_kafka
    if not external_db:
        starters["postgres"] = postgres_cluster.start_postgres
    # Ports are settled here, before the threads, so only one thread writes them;
    # a live server keeps its port, even one that is still starting.
    for name in starters:
        if not INFRA_RUNNING[name](paths, state):
            for component in INFRA_PORTS[name]:
                state.reclaim_port(component)
    # PostgreSQL starts while the broker's JVM warms up; both are mostly waiting.
    with ThreadPoolExecutor(max_workers=2) as pool:
        jobs = {name: pool.submit(start, paths, state) for name, start in starters.items()}
        wait(jobs.values())
    started += [name for name, job in jobs.items() if job.exception() is None and job.result()]
    for job in jobs.values():
        job.result()  # raises the first failure, after every success is recorded
    return Infra(
        kafka_bootstrap_servers=external_kafka or kafka.bootstrap_servers(state),
        database_url=external_db or postgres.database_url(state.port("postgres")),
        stack_dir=paths.root,
    )


def up(paths: StackPaths, *, infra_only: bool = False) -> UpReport:
    """Start whatever is missing, seed the demo when services were started, write stack.env."""
    paths.ensure()
    with locked_state(paths) as state:
        started: list[str] = []
        infra = ensure_infra(paths, state, started)
        if start_smtp_sink(paths, state):
            started.append("smtp")
        names = () if infra_only else services.SERVICE_NAMES
        services.reclaim_ports(state, names)
        env = services.service_environment(
            state,
            os.environ,
            names=names,
            kafka_bootstrap_servers=infra.kafka_bootstrap_servers,
            database_url=infra.database_url,
            smtp_port=state.port("smtp"),
        )
        started += services.start_services(paths, state, env, names)
        # Seeding again on a warm restart would repeat any non-idempotent request.
        seed_file = find_repo_root() / "deploy" / "demo" / "seed.json"
        seeded = services.seed_demo(state, seed_file) if set(names) & set(started) else 0
        # A developer's `up` takes over what a test session started, so the
        # end of that session no longer stops it.
        state.test_owned = []
        write_stack_env(paths, stack_env(paths, state, infra, names))
        return UpReport(infra, state.port("smtp"), tuple(started), tuple(names), seeded)


def stack_env(
    paths: StackPaths, state: StackState, infra: Infra, names: tuple[str, ...]
) -> dict[str, str]:
    values = {f"{name.upper()}_URL": services.service_url(state, name) for name in names}
    values |= {
        "KAFKA_BOOTSTRAP_SERVERS": infra.kafka_bootstrap_servers,
        "DATABASE_URL": infra.database_url,
        "API_KEY": state.demo_api_key(),
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": str(state.port("smtp")),
        "MAIL_DIR": str(paths.mail),
    }
    if "intake" in names:
        values["INTAKE_SMTP_PORT"] = str(state.port(services.INTAKE_SMTP))
        values["EVENTS_ROUTING_KEY"] = services.demo_routing_key(state)
    return values


def write_stack_env(paths: StackPaths, values: dict[str, str]) -> None:
    lines = [f"{key}={shlex.quote(value)}\n" for key, value in values.items()]
    tmp = paths.env_file.with_suffix(".env.tmp")
    tmp.write_text("".join(lines))
    os.replace(tmp, paths.env_file)


def stop_components(paths: StackPaths, state: StackState, components: list[str]) -> None:
    """Stop the named components, services first, then the sink, Kafka and PostgreSQL."""
    for name in services.SERVICE_NAMES:
        if name in components:
            services.stop_service(state, name)
    if "smtp" in components:
        stop_smtp_sink(paths, state)
    if "kafka" in components:
        kafka.stop_kafka(paths, state)
    if "postgres" in components:
        postgres_cluster.stop_postgres(paths, state)


def down(paths: StackPaths) -> None:
    with locked_state(paths) as state:
        everything = [*services.SERVICE_NAMES, "smtp", "kafka", "postgres"]
        stop_components(paths, state, everything)
        state.test_owned, state.test_sessions = [], []


def clean(paths: StackPaths) -> None:
    """down, then delete the stack dir and the PostgreSQL cluster kept outside it, if any."""
    down(paths)
    home = postgres_home.recorded_home(paths, load_state(paths))
    if postgres_home.is_outside_home(home):
        shutil.rmtree(home, ignore_errors=True)
    shutil.rmtree(paths.root, ignore_errors=True)


def status(paths: StackPaths) -> list[tuple[str, bool, str]]:
    """(component, running, address) for every component; changes nothing."""
    state = load_state(paths)
    probes: dict[str, tuple[Callable[[], bool], Callable[[], str]]] = {
        "kafka": (
            partial(kafka.kafka_running, paths, state),
            partial(kafka.bootstrap_servers, state),
        ),
        "postgres": (
            partial(postgres_cluster.postgres_running, paths, state),
            lambda: postgres.database_url(state.port("postgres")),
        ),
        "smtp": (partial(sink_running, paths, state), lambda: f"127.0.0.1:{state.port('smtp')}"),
    }
    for name in services.SERVICE_NAMES:
        probes[name] = (
            partial(services.service_running, state, name),
            partial(services.service_url, state, name),
        )
    # A component without a saved port was never started: nothing to probe.
    return [
        (name, running(), address()) if name in state.ports else (name, False, "-")
        for name, (running, address) in probes.items()
    ]


def external_infra(paths: StackPaths) -> Infra | None:
    """Infra named wholly by the environment, or None when something must run locally."""
    kafka_servers = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    database_url = os.environ.get("DATABASE_URL")
    if kafka_servers and database_url:
        return Infra(kafka_servers, database_url, paths.root)
    return None


def acquire_infra(paths: StackPaths) -> Infra:
    """Infra for a test session, which joins the sessions using the local servers.

    Call release_infra afterwards even when this raises: it stops what was started.
    """
    with locked_state(paths) as state:
        state.test_sessions.append(os.getpid())
        started: list[str] = []
        try:
            return ensure_infra(paths, state, started)
        finally:
            state.test_owned += [name for name in started if name not in state.test_owned]


def release_infra(paths: StackPaths) -> None:
    """Leave; the last test session out stops what test sessions started, nothing else."""
    with locked_state(paths) as state:
        me = os.getpid()
        # Sessions that died without leaving (killed, crashed) no longer count.
        state.test_sessions = [p for p in state.test_sessions if p != me and pid_alive(p)]
        if not state.test_sessions:
            stop_components(paths, state, state.test_owned)
            state.test_owned = []
