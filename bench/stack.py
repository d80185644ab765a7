"""The running stack as the benchmarks see it: its URLs, API key and broker (`.stack/stack.env`),
and the processes of each component (pids in `.stack/state.json`, PostgreSQL's pid file)."""

import os
import shlex
import sys
from pathlib import Path

from incident_devstack.paths import StackPaths
from incident_devstack.processes import process_matches
from incident_devstack.services import SERVICE_NAMES
from incident_devstack.state import load_state

# Variables of the shell that take precedence over stack.env (to aim at another deployment).
OVERRIDABLE = ("INTAKE_URL", "ROUTER_URL", "API_KEY")


def stack_env() -> dict[str, str]:
    """URLs, API key and Kafka bootstrap servers of the stack `make up` started."""
    path = StackPaths.discover().env_file
    if not path.exists():
        sys.exit(f"no running stack: run `make up` first ({path} is missing)")
    pairs = (line.split("=", 1) for line in path.read_text().splitlines() if "=" in line)
    values = {key: shlex.split(value)[0] if value else "" for key, value in pairs}
    return values | {key: os.environ[key] for key in OVERRIDABLE if key in os.environ}


def stack_processes() -> dict[str, int]:
    """The root pid of every component of the local stack that is running, by component name.

    Each pid is checked against its command line, so a pid reused by another program is skipped.
    """
    paths = StackPaths.discover()
    state = load_state(paths)
    needles = {name: f"-m {name} serve" for name in SERVICE_NAMES}
    needles |= {"kafka": str(paths.kafka / "server.properties"), "smtp": str(paths.mail)}
    found = {
        name: state.pids[name]
        for name, needle in needles.items()
        if name in state.pids and process_matches(state.pids[name], needle)
    }
    postmaster = _postmaster_pid(paths.postgres / "data")
    if postmaster is not None:
        found["postgres"] = postmaster
    return found


def _postmaster_pid(data_dir: Path) -> int | None:
    try:
        pid = int((data_dir / "postmaster.pid").read_text().split("\n", 1)[0])
    except (OSError, ValueError):
        return None
    return pid if process_matches(pid, str(data_dir)) else None
