"""The platform's services as local processes: environment, migrate, serve, readiness, demo seed.

Every service follows one contract, so the launcher only needs their names:
`python -m <name> migrate` exits when its schema is current, `python -m <name> serve`
listens on `<NAME>_HTTP_PORT` and answers `GET /readyz` with 200 once usable.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import httpx

from incident_devstack.paths import StackPaths
from incident_devstack.processes import (
    StackError,
    log_tail,
    pid_alive,
    port_open,
    process_matches,
    spawn_detached,
    terminate,
    wait_until,
)
from incident_devstack.state import StackState

SERVICE_NAMES = ("intake", "router", "sla", "notifier")
INTAKE_SMTP = "intake-smtp"
MIGRATE_TIMEOUT_S = 300.0
READY_TIMEOUT_S = 120.0
STOP_TIMEOUT_S = 20.0


def http_port_variable(name: str) -> str:
    return f"{name.upper()}_HTTP_PORT"


def service_url(state: StackState, name: str) -> str:
    return f"http://127.0.0.1:{state.port(name)}"


def service_environment(
    state: StackState,
    base: Mapping[str, str],
    *,
    names: Sequence[str],
    kafka_bootstrap_servers: str,
    database_url: str,
    smtp_port: int,
) -> dict[str, str]:
    """`base` plus every variable the services read; all ports are given to all services."""
    env = {
        **base,
        "KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap_servers,
        "DATABASE_URL": database_url,
        # The runtime kit reads the unprefixed API_KEYS in every service (the
        # seed's router calls need it too); INTAKE_API_KEYS is the documented name.
        "API_KEYS": state.demo_api_key(),
        "INTAKE_API_KEYS": state.demo_api_key(),
        "NOTIFIER_SMTP_HOST": "127.0.0.1",
        "NOTIFIER_SMTP_PORT": str(smtp_port),
    }
    env.update({http_port_variable(name): str(state.port(name)) for name in names})
    if "intake" in names:  # intake's inbound mail (SMTP) server and Events API routing key
        env["INTAKE_SMTP_PORT"] = str(state.port(INTAKE_SMTP))
        env["INTAKE_EVENTS_ROUTING_KEYS"] = demo_routing_key(state)
    if "notifier" in names:
        env["NOTIFIER_PUBLIC_URL"] = service_url(state, "notifier")
    return env


def demo_routing_key(state: StackState) -> str:
    """The Events API routing key of the demo, as secret as its API key."""
    return "events-" + state.demo_api_key().removeprefix("demo-admin-")


def reclaim_ports(state: StackState, names: Sequence[str]) -> None:
    """Move each stopped service off a saved port that another program took meanwhile."""
    for name in names:
        if not service_running(state, name):
            state.reclaim_port(name)
            if name == "intake":
                state.reclaim_port(INTAKE_SMTP)


def _serve_argv(name: str) -> list[str]:
    return [sys.executable, "-m", name, "serve"]


def _is_ready(state: StackState, name: str) -> bool:
    try:
        response = httpx.get(f"{service_url(state, name)}/readyz", timeout=2.0)
    except httpx.HTTPError:
        return False
    return response.status_code == 200


def service_running(state: StackState, name: str) -> bool:
    """Whether the recorded process of `name` is alive, ready or not.

    A live service may be unready only because Kafka or PostgreSQL restarts: it
    must be waited for, not replaced by a second copy on another port.
    """
    pid = state.pids.get(name)
    return pid is not None and process_matches(pid, " ".join(_serve_argv(name)[1:]))


def migrate(paths: StackPaths, name: str, env: Mapping[str, str]) -> None:
    """Run the service's migrations to the end; its output goes to the service log."""
    with paths.log(name).open("ab") as log:
        done = subprocess.run(
            [sys.executable, "-m", name, "migrate"],
            env=dict(env),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            timeout=MIGRATE_TIMEOUT_S,
            check=False,
        )
    if done.returncode != 0:
        raise StackError(
            f"`{name} migrate` exited with {done.returncode}\n{log_tail(paths.log(name))}"
        )


def start_services(
    paths: StackPaths, state: StackState, env: Mapping[str, str], names: Sequence[str]
) -> list[str]:
    """Migrate and start the services not running, wait until all are ready; return the started."""
    paths.ensure()
    to_start = [name for name in names if not service_running(state, name)]
    for name in to_start:
        stop_service(state, name)
        if port_open(state.port(name)):
            raise StackError(
                f"port {state.port(name)} saved for {name} is in use by another process"
            )
    # One after another: migrations of different services may share Alembic's
    # bookkeeping in one database, and concurrent runs could trip over it.
    for name in to_start:
        migrate(paths, name, env)
    for name in to_start:
        state.pids[name] = spawn_detached(_serve_argv(name), log=paths.log(name), env=env)
    wait_until(
        lambda: all(_ready_or_raise(paths, state, name) for name in names),
        timeout=READY_TIMEOUT_S,
        what=f"GET /readyz of {', '.join(names)}",
        diagnose=lambda: "\n".join(log_tail(paths.log(name), 15) for name in names),
    )
    return to_start


def _ready_or_raise(paths: StackPaths, state: StackState, name: str) -> bool:
    if not pid_alive(state.pids[name]):
        raise StackError(f"{name} exited before it was ready\n{log_tail(paths.log(name))}")
    return _is_ready(state, name)


def stop_service(state: StackState, name: str) -> None:
    pid = state.pids.pop(name, None)
    if pid is not None and process_matches(pid, " ".join(_serve_argv(name)[1:])):
        terminate(pid, timeout=STOP_TIMEOUT_S)


def load_seed(path: Path) -> list[dict[str, Any]]:
    requests: list[dict[str, Any]] = json.loads(path.read_text())
    if not isinstance(requests, list):
        raise StackError(f"{path} must hold a JSON list of requests")
    return requests


def seed_demo(state: StackState, seed_file: Path) -> int:
    """Send every request of `seed_file` with the demo key; raise on the first non-2xx answer."""
    if not seed_file.exists():
        return 0
    requests = load_seed(seed_file)
    headers = {"Authorization": f"Bearer {state.demo_api_key()}"}
    with httpx.Client(headers=headers, timeout=30.0) as client:
        for number, request in enumerate(requests, start=1):
            method, path = str(request["method"]), str(request["path"])
            url = service_url(state, str(request["service"])) + path
            response = client.request(method, url, json=request.get("json"))
            if not response.is_success:
                raise StackError(
                    f"seed request {number} of {seed_file} ({method} {url}) answered "
                    f"{response.status_code}: {response.text}"
                )
    return len(requests)
