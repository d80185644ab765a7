"""The local PostgreSQL cluster under `.stack/pg`, and databases on any cluster given by URL.

PostgreSQL refuses to run as root, so as root every server command runs as the
`postgres` OS user (runuser), which owns the cluster directory and its log.
"""

from __future__ import annotations

import asyncio
import os
import pwd
import re
import shlex
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg

from incident_devstack.paths import StackPaths
from incident_devstack.processes import (
    StackError,
    log_tail,
    port_open,
    process_matches,
    wait_until,
)
from incident_devstack.state import StackState, load_state

DATABASE = "incidents"
SUPERUSER = "postgres"
OS_USER = "postgres"
START_TIMEOUT_S = 60
# Unix socket paths longer than this do not fit in sockaddr_un.
MAX_SOCKET_PATH = 100
_DB_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")


def database_url(port: int, name: str = DATABASE) -> str:
    return f"postgresql+asyncpg://{SUPERUSER}@127.0.0.1:{port}/{name}"


def with_database(url: str, name: str) -> str:
    """`url` pointing at database `name` on the same server, same user and options."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{name}"))


def asyncpg_dsn(url: str) -> str:
    """A SQLAlchemy-style URL (`postgresql+asyncpg://`) as a DSN asyncpg accepts."""
    return re.sub(r"^postgresql\+\w+://", "postgresql://", url)


def _running_as_root() -> bool:
    return os.geteuid() == 0


def _as_cluster_owner(argv: list[str]) -> list[str]:
    return ["runuser", "-u", OS_USER, "--", *argv] if _running_as_root() else argv


def _give_to_cluster_owner(path: Path) -> None:
    if _running_as_root():
        owner = pwd.getpwnam(OS_USER)
        os.chown(path, owner.pw_uid, owner.pw_gid)


def _run_logged(paths: StackPaths, argv: list[str], what: str) -> None:
    with paths.log("postgres").open("ab") as log:
        done = subprocess.run(
            _as_cluster_owner(argv), stdout=log, stderr=subprocess.STDOUT, check=False
        )
    if done.returncode != 0:
        raise StackError(f"{what} failed\n{log_tail(paths.log('postgres'))}")


def _data_dir(paths: StackPaths) -> Path:
    return paths.postgres / "data"


def _socket_dir(paths: StackPaths) -> Path:
    return paths.postgres / "run"


def init_cluster(paths: StackPaths) -> None:
    """initdb once: trust authentication, since the server only listens on loopback."""
    data = _data_dir(paths)
    if (data / "PG_VERSION").exists():
        return
    paths.ensure()
    for directory in (paths.postgres, _socket_dir(paths)):
        directory.mkdir(parents=True, exist_ok=True)
        _give_to_cluster_owner(directory)
    argv = ["initdb", "-D", str(data), "-U", SUPERUSER, "-E", "UTF8", "--no-locale"]
    argv += ["--auth-local=trust", "--auth-host=trust"]
    _run_logged(paths, argv, "initdb")


def _postmaster_pid(paths: StackPaths) -> int | None:
    try:
        return int((_data_dir(paths) / "postmaster.pid").read_text().split("\n", 1)[0])
    except (OSError, ValueError):
        return None


def postgres_running(paths: StackPaths, state: StackState) -> bool:
    pid = _postmaster_pid(paths)
    return (
        pid is not None
        and process_matches(pid, str(_data_dir(paths)))
        and port_open(state.port("postgres"))
    )


def start_postgres(paths: StackPaths, state: StackState) -> bool:
    """Ensure the cluster runs with database `incidents`; True when this call started it."""
    if postgres_running(paths, state):
        return False
    port = state.port("postgres")
    if port_open(port):
        raise StackError(f"port {port} saved for PostgreSQL is in use by another process")
    init_cluster(paths)
    socket_dir = _socket_dir(paths)
    if len(str(socket_dir)) + len(f"/.s.PGSQL.{port}") > MAX_SOCKET_PATH:
        raise StackError(f"socket path under {socket_dir} is too long; use a shorter STACK_DIR")
    log = paths.log("postgres")
    log.touch()
    _give_to_cluster_owner(log)
    # pg_ctl hands these to a shell, hence the quoting.
    options = f"-p {port} -k {shlex.quote(str(socket_dir))} -c listen_addresses=127.0.0.1"
    # Losing the last commits on a crash is fine for a dev stack; waiting for fsync is not.
    options += " -c synchronous_commit=off"
    argv = ["pg_ctl", "-D", str(_data_dir(paths)), "-l", str(log), "-w"]
    argv += ["-t", str(START_TIMEOUT_S), "-o", options, "start"]
    _run_logged(paths, argv, "pg_ctl start")
    wait_until(
        lambda: port_open(port),
        timeout=START_TIMEOUT_S,
        what=f"PostgreSQL on 127.0.0.1:{port}",
        diagnose=lambda: log_tail(log),
    )
    create_database(DATABASE, database_url=database_url(port, "postgres"))
    return True


def stop_postgres(paths: StackPaths) -> None:
    pid = _postmaster_pid(paths)
    # A pid file left by a crash names no server: pg_ctl stop would fail on it.
    if pid is None or not process_matches(pid, str(_data_dir(paths))):
        return
    argv = ["pg_ctl", "-D", str(_data_dir(paths)), "-m", "fast", "-w", "stop"]
    _run_logged(paths, argv, "pg_ctl stop")


def _checked_name(name: str) -> str:
    # Names are interpolated into DDL (no bind parameters there), so only plain ones pass.
    if not _DB_NAME.fullmatch(name):
        raise ValueError(f"database name {name!r} must match {_DB_NAME.pattern}")
    return name


async def create_database_async(name: str, *, database_url: str) -> str:
    """Create `name` (unless it exists) on the server of `database_url`; return its URL."""
    name = _checked_name(name)
    connection = await asyncpg.connect(asyncpg_dsn(database_url))
    try:
        exists = await connection.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name)
        if not exists:
            await connection.execute(f'CREATE DATABASE "{name}"')
    finally:
        await connection.close()
    return with_database(database_url, name)


async def drop_database_async(name: str, *, database_url: str) -> None:
    """Drop `name`, closing sessions still on it; `database_url` must name another database."""
    name = _checked_name(name)
    connection = await asyncpg.connect(asyncpg_dsn(database_url))
    try:
        await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await connection.close()


def default_database_url() -> str:
    """`DATABASE_URL` when set, else the URL of the local stack's cluster."""
    if url := os.environ.get("DATABASE_URL"):
        return url
    state = load_state(StackPaths.discover())
    if "postgres" not in state.ports:
        raise StackError("no DATABASE_URL set and no local PostgreSQL: run `make up` first")
    return database_url(state.ports["postgres"])


def create_database(name: str, *, database_url: str | None = None) -> str:
    """Synchronous create_database_async, callable from inside a running event loop too."""
    work = create_database_async(name, database_url=database_url or default_database_url())
    # A private thread has no running loop, so asyncio.run works whoever calls.
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, work).result()


def drop_database(name: str, *, database_url: str | None = None) -> None:
    work = drop_database_async(name, database_url=database_url or default_database_url())
    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(asyncio.run, work).result()
