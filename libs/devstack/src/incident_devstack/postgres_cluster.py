"""The local PostgreSQL cluster: initdb once, start with durable commits, recover, stop.

Commits are durable (synchronous_commit and fsync on, set on the command line,
which wins over postgresql.conf), so what an API answered 201 for survives a
kill -9 of the server; a live server started with other settings is restarted.
Alive is running: a postmaster still recovering is waited for, never started
twice. A start after a crash first lets the dead postmaster's processes go:
they hold the shared memory a new postmaster refuses to share.
"""

from __future__ import annotations

import os
import shlex
import signal
import subprocess
from contextlib import suppress
from pathlib import Path

from incident_devstack.paths import StackPaths
from incident_devstack.postgres import (
    DATABASE,
    SUPERUSER,
    accepts_connections,
    create_database,
    database_url,
    server_settings,
)
from incident_devstack.postgres_binaries import server_bin_dir, server_program
from incident_devstack.postgres_home import (
    as_cluster_owner,
    choose_home,
    give_to_cluster_owner,
    prepare_home,
    recorded_home,
)
from incident_devstack.processes import (
    StackError,
    log_tail,
    port_open,
    process_cwd,
    processes_in,
    wait_until,
)
from incident_devstack.state import StackState

START_TIMEOUT_S = 60.0
# How long the processes of a killed postmaster get to notice and exit by themselves.
ORPHAN_TIMEOUT_S = 30.0
# Unix socket paths longer than this do not fit in sockaddr_un.
MAX_SOCKET_PATH = 100
DURABILITY = {"synchronous_commit": "on", "fsync": "on"}


STATEMENT_STATISTICS = "pg_stat_statements"


def statement_statistics_available() -> bool:
    """Whether the server's installation has pg_stat_statements (contrib; Debian ships it)."""
    return (server_bin_dir().parent / "lib" / f"{STATEMENT_STATISTICS}.so").exists()


def _data_dir(home: Path) -> Path:
    return home / "data"


def _socket_dir(home: Path) -> Path:
    return home / "run"


def _run_logged(paths: StackPaths, argv: list[str], what: str) -> None:
    log = paths.log("postgres")
    # The server that pg_ctl starts inherits this descriptor as its log (no -l),
    # so the cluster's OS user never needs to reach the stack's log directory.
    with log.open("ab") as out:
        command = as_cluster_owner(argv)
        done = subprocess.run(command, stdout=out, stderr=subprocess.STDOUT, cwd="/", check=False)
    if done.returncode != 0:
        raise StackError(f"{what} failed\n{log_tail(log)}")


def init_cluster(paths: StackPaths, home: Path) -> None:
    """initdb once: trust authentication, since the server only listens on loopback."""
    data = _data_dir(home)
    if (data / "PG_VERSION").exists():
        return
    paths.ensure()
    prepare_home(home)
    argv = [server_program("initdb"), "-D", str(data), "-U", SUPERUSER, "-E", "UTF8"]
    argv += ["--no-locale", "--auth-local=trust", "--auth-host=trust"]
    _run_logged(paths, argv, "initdb")


def _postmaster_pid(home: Path) -> int | None:
    try:
        return int((_data_dir(home) / "postmaster.pid").read_text().split("\n", 1)[0])
    except (OSError, ValueError):
        return None


def _alive(home: Path) -> bool:
    pid = _postmaster_pid(home)
    # Its working directory is the data dir: a reused pid is some other process.
    return pid is not None and process_cwd(pid) == _data_dir(home).resolve()


def postgres_running(paths: StackPaths, state: StackState) -> bool:
    """Whether this stack's postmaster is alive, ready or not (it may be recovering)."""
    return _alive(recorded_home(paths, state))


def start_postgres(paths: StackPaths, state: StackState) -> bool:
    """Ensure the cluster runs with database `incidents`; True when this call started it."""
    port = state.port("postgres")
    if _alive(recorded_home(paths, state)) and _await_running_server(paths, state, port):
        if server_settings(database_url(port, "postgres"), DURABILITY) == DURABILITY:
            return False
        # Started with other settings (older devstacks turned synchronous_commit off).
        _note(paths, f"restarting the server to run with {DURABILITY}")
        stop_postgres(paths, state)
    if port_open(port):
        raise StackError(f"port {port} saved for PostgreSQL is in use by another process")
    home = choose_home(paths, state)
    init_cluster(paths, home)
    _clear_crash_leftovers(paths, home)
    socket_dir = _socket_dir(home)
    if len(str(socket_dir)) + len(f"/.s.PGSQL.{port}") > MAX_SOCKET_PATH:
        raise StackError(f"socket path under {socket_dir} is too long; use a shorter STACK_DIR")
    socket_dir.mkdir(exist_ok=True)
    give_to_cluster_owner(socket_dir)
    # pg_ctl hands these to a shell, hence the quoting.
    options = f"-p {port} -k {shlex.quote(str(socket_dir))} -c listen_addresses=127.0.0.1"
    options += "".join(f" -c {name}={value}" for name, value in DURABILITY.items())
    if statement_statistics_available():
        # Counts every statement by its text (`make bench BENCH=cpu` reports them per incident).
        options += f" -c shared_preload_libraries={STATEMENT_STATISTICS}"
    argv = [server_program("pg_ctl"), "-D", str(_data_dir(home)), "-w"]
    argv += ["-t", str(int(START_TIMEOUT_S)), "-o", options, "start"]
    _run_logged(paths, argv, "pg_ctl start")
    create_database(DATABASE, database_url=database_url(port, "postgres"))
    return True


def _await_running_server(paths: StackPaths, state: StackState, port: int) -> bool:
    """Wait until the live server takes sessions (True) or exits (False: start it anew)."""
    url = database_url(port, "postgres")
    home = recorded_home(paths, state)
    wait_until(
        lambda: not _alive(home) or accepts_connections(url),
        timeout=START_TIMEOUT_S,
        what=f"the running PostgreSQL on 127.0.0.1:{port} to accept sessions",
        diagnose=lambda: log_tail(paths.log("postgres")),
    )
    return _alive(home)


def _clear_crash_leftovers(paths: StackPaths, home: Path) -> None:
    """After a kill -9 of the postmaster: see its orphans go, then drop its stale lock files."""
    data = _data_dir(home)
    lock_file = data / "postmaster.pid"
    if not lock_file.exists():
        return

    def orphans() -> list[int]:
        return processes_in(data, "postgres")

    what = f"the processes of the dead postmaster of {data} to exit"
    try:
        wait_until(lambda: not orphans(), timeout=ORPHAN_TIMEOUT_S, what=what)
    except StackError:
        # Their postmaster is gone, so they can do no more work; commits are in the WAL.
        _note(paths, f"killing processes {orphans()} left by the dead postmaster")
        for pid in orphans():
            with suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        wait_until(lambda: not orphans(), timeout=10, what=what)
    # The pids in them may be zombies or other processes by now, which PostgreSQL
    # would take for a server still running; no server of this cluster runs.
    for stale in [lock_file, *_socket_dir(home).glob(".s.PGSQL.*.lock")]:
        stale.unlink(missing_ok=True)


def _note(paths: StackPaths, line: str) -> None:
    with paths.log("postgres").open("a") as log:
        log.write(f"incident_devstack: {line}\n")


def stop_postgres(paths: StackPaths, state: StackState) -> None:
    home = recorded_home(paths, state)
    # A lock file left by a crash names no server: pg_ctl stop would fail on it.
    if not _alive(home):
        return
    argv = [server_program("pg_ctl"), "-D", str(_data_dir(home)), "-m", "fast", "-w", "stop"]
    _run_logged(paths, argv, "pg_ctl stop")
