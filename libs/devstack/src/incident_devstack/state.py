"""The persisted state of the local stack (`state.json`): ports, pids, the demo key, who owns what.

Ports are chosen once and kept, so URLs stay stable between runs and Kafka's
controller endpoint (written into its formatted storage) never moves.
"""

from __future__ import annotations

import fcntl
import json
import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from typing import Any

from incident_devstack.paths import StackPaths
from incident_devstack.processes import free_port, port_open

# The services' documented defaults, used whenever they are free.
PREFERRED_PORTS = {
    "intake": 8001,
    "router": 8002,
    "sla": 8003,
    "notifier": 8004,
    "intake-smtp": 2525,
}


@dataclass
class StackState:
    """Ports and pids by component name ("kafka", "postgres", "smtp", "intake", ...)."""

    ports: dict[str, int] = field(default_factory=dict)
    pids: dict[str, int] = field(default_factory=dict)
    api_key: str = ""
    # Components a pytest session started, and the sessions using them: the
    # last session to finish stops them, so a developer's `up` is left alone.
    test_owned: list[str] = field(default_factory=list)
    test_sessions: list[int] = field(default_factory=list)
    # Where the PostgreSQL cluster lives when not in the stack dir (see postgres_home).
    postgres_home: str = ""

    def port(self, name: str) -> int:
        """The saved port of `name`, or a newly picked free one that is saved from now on."""
        if name not in self.ports:
            taken = set(self.ports.values())
            preferred = PREFERRED_PORTS.get(name)
            if preferred and preferred not in taken and not port_open(preferred):
                self.ports[name] = preferred
                return preferred
            port = free_port()
            while port in taken:
                port = free_port()
            self.ports[name] = port
        return self.ports[name]

    def reclaim_port(self, name: str) -> int:
        """The saved port of `name`, or a new one when another program took it meanwhile."""
        if port_open(self.port(name)):
            del self.ports[name]
        return self.port(name)

    def demo_api_key(self) -> str:
        if not self.api_key:
            self.api_key = "demo-admin-" + secrets.token_urlsafe(24)
        return self.api_key


def load_state(paths: StackPaths) -> StackState:
    if not paths.state_file.exists():
        return StackState()
    raw: dict[str, Any] = json.loads(paths.state_file.read_text())
    return StackState(
        ports={str(k): int(v) for k, v in raw.get("ports", {}).items()},
        pids={str(k): int(v) for k, v in raw.get("pids", {}).items()},
        api_key=str(raw.get("api_key", "")),
        test_owned=[str(v) for v in raw.get("test_owned", [])],
        test_sessions=[int(v) for v in raw.get("test_sessions", [])],
        postgres_home=str(raw.get("postgres_home", "")),
    )


def save_state(paths: StackPaths, state: StackState) -> None:
    # Written to a temp file and renamed, so a reader never sees half a file.
    paths.root.mkdir(parents=True, exist_ok=True)
    tmp = paths.state_file.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(asdict(state), indent=2, sort_keys=True) + "\n")
    os.replace(tmp, paths.state_file)


@contextmanager
def locked_state(paths: StackPaths) -> Iterator[StackState]:
    """The state under an exclusive file lock, saved on exit (even after an error)."""
    paths.root.mkdir(parents=True, exist_ok=True)
    with paths.lock_file.open("a") as lock:
        # One `up`, `down` or test session changes the stack at a time.
        fcntl.flock(lock, fcntl.LOCK_EX)
        state = load_state(paths)
        try:
            yield state
        finally:
            save_state(paths, state)
