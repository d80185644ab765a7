"""The SMTP sink (smtp_sink) as a background process of the local stack, in `.stack/mail`."""

from __future__ import annotations

import sys

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

SINK_TIMEOUT_S = 30.0


def _sink_argv(paths: StackPaths, port: int) -> list[str]:
    module = ["-m", "incident_devstack.smtp_sink", "--port", str(port), "--dir", str(paths.mail)]
    return [sys.executable, *module]


def sink_running(paths: StackPaths, state: StackState) -> bool:
    pid = state.pids.get("smtp")
    return pid is not None and process_matches(pid, str(paths.mail))


def start_smtp_sink(paths: StackPaths, state: StackState) -> bool:
    port, log = state.port("smtp"), paths.log("smtp-sink")
    if sink_running(paths, state):
        # Alive is running: a sink still starting is waited for, not started twice.
        wait_until(
            lambda: port_open(port) or not sink_running(paths, state),
            timeout=SINK_TIMEOUT_S,
            what=f"the running SMTP sink on port {port}",
        )
        if sink_running(paths, state):
            return False
    port = state.reclaim_port("smtp")
    pid = spawn_detached(_sink_argv(paths, port), log=log)
    state.pids["smtp"] = pid

    def listening() -> bool:
        if not pid_alive(pid):
            raise StackError(f"the SMTP sink exited during start-up\n{log_tail(log)}")
        return port_open(port)

    wait_until(listening, timeout=SINK_TIMEOUT_S, what=f"the SMTP sink on port {port}")
    return True


def stop_smtp_sink(paths: StackPaths, state: StackState) -> None:
    pid = state.pids.pop("smtp", None)
    if pid is not None and process_matches(pid, str(paths.mail)):
        terminate(pid, timeout=10)
