"""Kafka's start against a stand-in broker process: a live broker is running even before it
listens (starting, restarting), so it is waited for, keeps its port and is never doubled."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from incident_devstack.paths import StackPaths
from incident_devstack.processes import pid_alive, spawn_detached, terminate
from incident_devstack.stack import ensure_infra
from incident_devstack.state import StackState

# Its command line names the stack's server.properties, as the real broker's does;
# it listens on the broker port only after a delay, like a JVM still starting.
FAKE_BROKER = """
import socket, sys, time
time.sleep(float(sys.argv[2]))
listener = socket.create_server(("127.0.0.1", int(sys.argv[3])))
time.sleep(60)
"""


def test_a_live_broker_that_does_not_listen_yet_is_waited_for_not_started_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # PostgreSQL is someone else's here, so only Kafka is ensured.
    monkeypatch.setenv("DATABASE_URL", "postgresql+asyncpg://postgres@127.0.0.1:1/incidents")
    monkeypatch.delenv("KAFKA_BOOTSTRAP_SERVERS", raising=False)
    paths, state = StackPaths(tmp_path / "stack"), StackState()
    port, controller_port = state.port("kafka"), state.port("kafka-controller")
    script = tmp_path / "broker.py"
    script.write_text(FAKE_BROKER)
    config = paths.kafka / "server.properties"
    argv = [sys.executable, str(script), str(config), "1.0", str(port)]
    pid = spawn_detached(argv, log=paths.log("kafka"))
    state.pids["kafka"] = pid
    try:
        started: list[str] = []
        infra = ensure_infra(paths, state, started)
        assert started == [] and infra.kafka_bootstrap_servers == f"127.0.0.1:{port}"
        assert state.pids["kafka"] == pid and pid_alive(pid)
        assert (state.port("kafka"), state.port("kafka-controller")) == (port, controller_port)
        assert not (paths.kafka / "libs").exists()  # no second broker was being prepared
    finally:
        terminate(pid, timeout=5)
