"""The local PostgreSQL cluster for real: durable commits, a home its OS user can enter,
starts after a kill -9, and a live server that is not ready yet is waited for, not doubled."""

from __future__ import annotations

import os
import shutil
import signal
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from incident_devstack import postgres_cluster
from incident_devstack.paths import StackPaths
from incident_devstack.postgres import asyncpg_dsn, database_url, run_in_own_loop
from incident_devstack.postgres_home import (
    OS_USER,
    OUTSIDE_PARENT,
    is_outside_home,
    recorded_home,
    running_as_root,
)
from incident_devstack.processes import processes_in
from incident_devstack.state import StackState

Cluster = tuple[StackPaths, StackState]


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    """One cluster for the module (initdb costs seconds), in a fresh 0700 directory: as root
    that is a checkout the postgres OS user cannot enter, like one under /root."""
    private = Path(tempfile.mkdtemp(prefix="devstack-pg-"))
    paths, state = StackPaths(private / "stack"), StackState()
    try:
        assert postgres_cluster.start_postgres(paths, state)
        yield paths, state
    finally:
        postgres_cluster.stop_postgres(paths, state)
        # A test that failed half-way may leave a stopped (SIGSTOP) or orphaned process.
        for pid in _server_processes(paths, state):
            os.kill(pid, signal.SIGKILL)
        if is_outside_home(recorded_home(paths, state)):
            shutil.rmtree(recorded_home(paths, state))
        shutil.rmtree(private)


def _fetch(state: StackState, sql: str) -> list[Any]:
    async def fetch() -> list[Any]:
        connection = await asyncpg.connect(asyncpg_dsn(database_url(state.port("postgres"))))
        try:
            return [tuple(row) for row in await connection.fetch(sql)]
        finally:
            await connection.close()

    return run_in_own_loop(fetch())


def _data_dir(paths: StackPaths, state: StackState) -> Path:
    return recorded_home(paths, state) / "data"


def _server_processes(paths: StackPaths, state: StackState) -> list[int]:
    # Zombies (exited, not yet reaped) have no working directory, so they are not listed.
    return processes_in(_data_dir(paths, state), "postgres")


def _postmaster(paths: StackPaths, state: StackState) -> int:
    return int((_data_dir(paths, state) / "postmaster.pid").read_text().split("\n", 1)[0])


def test_the_cluster_commits_durably(cluster: Cluster) -> None:
    _, state = cluster
    assert _fetch(state, "SHOW synchronous_commit") == [("on",)]
    assert _fetch(state, "SHOW fsync") == [("on",)]


def test_a_live_server_with_other_commit_settings_is_restarted_durable(
    cluster: Cluster, monkeypatch: pytest.MonkeyPatch
) -> None:
    paths, state = cluster
    fast = {"synchronous_commit": "off", "fsync": "off"}
    with monkeypatch.context() as patched:
        patched.setattr(postgres_cluster, "DURABILITY", fast)
        assert postgres_cluster.start_postgres(paths, state)
        assert _fetch(state, "SHOW synchronous_commit") == [("off",)]
    assert postgres_cluster.start_postgres(paths, state)
    assert _fetch(state, "SHOW synchronous_commit") == [("on",)]
    assert _fetch(state, "SHOW fsync") == [("on",)]
    assert not postgres_cluster.start_postgres(paths, state)


@pytest.mark.skipif(not running_as_root(), reason="only root runs the cluster as another user")
def test_as_root_a_checkout_the_os_user_cannot_enter_keeps_the_cluster_under_var_tmp(
    cluster: Cluster,
) -> None:
    paths, state = cluster
    home = recorded_home(paths, state)
    assert home.parent == OUTSIDE_PARENT and state.postgres_home == str(home)
    assert home.owner() == OS_USER and home.stat().st_mode & 0o777 == 0o700
    assert not paths.postgres.exists()
    assert "database system is ready" in paths.log("postgres").read_text()


def test_a_commit_survives_kill_9_of_every_server_process(cluster: Cluster) -> None:
    paths, state = cluster
    _fetch(state, "CREATE TABLE IF NOT EXISTS answered (id text PRIMARY KEY)")
    _fetch(state, "INSERT INTO answered VALUES ('201-before-the-crash')")
    # At once, before any background writer could catch up with an unflushed commit.
    for pid in _server_processes(paths, state):
        os.kill(pid, signal.SIGKILL)
    assert postgres_cluster.start_postgres(paths, state)
    assert _fetch(state, "SELECT id FROM answered") == [("201-before-the-crash",)]


async def test_a_start_after_kill_9_of_the_postmaster_waits_for_its_orphans(
    cluster: Cluster,
) -> None:
    paths, state = cluster
    orphan = await _stopped_backend(state)
    os.kill(_postmaster(paths, state), signal.SIGKILL)
    # Stopped, the backend cannot notice its postmaster died until it is continued.
    threading.Timer(1.0, os.kill, (orphan.pid, signal.SIGCONT)).start()
    assert postgres_cluster.start_postgres(paths, state)
    assert orphan.pid not in _server_processes(paths, state)
    assert _fetch(state, "SELECT 1") == [(1,)]
    orphan.connection.terminate()


async def test_orphans_that_never_exit_are_killed_after_a_while(
    cluster: Cluster, monkeypatch: pytest.MonkeyPatch
) -> None:
    paths, state = cluster
    monkeypatch.setattr(postgres_cluster, "ORPHAN_TIMEOUT_S", 0.5)
    orphan = await _stopped_backend(state)
    os.kill(_postmaster(paths, state), signal.SIGKILL)
    assert postgres_cluster.start_postgres(paths, state)
    assert orphan.pid not in _server_processes(paths, state)
    assert "killing processes" in paths.log("postgres").read_text()
    orphan.connection.terminate()


def test_a_live_server_that_does_not_answer_yet_is_waited_for_not_started_again(
    cluster: Cluster,
) -> None:
    paths, state = cluster
    postmaster, port = _postmaster(paths, state), state.port("postgres")
    os.kill(postmaster, signal.SIGSTOP)
    threading.Timer(1.0, os.kill, (postmaster, signal.SIGCONT)).start()
    assert not postgres_cluster.start_postgres(paths, state)
    assert _postmaster(paths, state) == postmaster and state.port("postgres") == port
    assert _fetch(state, "SELECT 1") == [(1,)]


@dataclass(frozen=True)
class Backend:
    connection: asyncpg.Connection
    pid: int


async def _stopped_backend(state: StackState) -> Backend:
    """A session whose server process is stopped (SIGSTOP): it can notice nothing."""
    connection = await asyncpg.connect(asyncpg_dsn(database_url(state.port("postgres"))))
    pid: int = await connection.fetchval("SELECT pg_backend_pid()")
    os.kill(pid, signal.SIGSTOP)
    return Backend(connection, pid)
