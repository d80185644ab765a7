"""An intake of the benchmark's own, for measuring intake alone: the same code and settings as
the stack's intake, on a database of its own in the stack's PostgreSQL and on Kafka topics of
its own, so what it accepts is committed and published like any report but no other service
consumes it. The database and the topics are dropped when the block ends."""

import asyncio
import os
import sys
import tempfile
from asyncio.subprocess import DEVNULL, STDOUT
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO
from uuid import uuid4

import asyncpg
from incident_devstack.processes import free_port
from incident_devstack.topics import delete_topics
from sqlalchemy.engine import make_url

from bench.server_process import stopped_at_exit, wait_ready

ROOT = Path(__file__).resolve().parent.parent
MIGRATE = (sys.executable, "-m", "intake", "migrate")
SERVE = (sys.executable, "-m", "intake", "serve")


@dataclass(frozen=True)
class LoneIntake:
    url: str  # POST /v1/incidents
    pid: int


@asynccontextmanager
async def lone_intake(
    stack_env: Mapping[str, str], *, processes: int = 1
) -> AsyncIterator[LoneIntake]:
    """Migrate and serve an intake (`processes` workers on one port) on a fresh database and
    topic prefix until the block ends."""
    name = f"bench_intake_{uuid4().hex[:8]}"
    server = make_url(stack_env["DATABASE_URL"])
    admin_dsn = server.set(drivername="postgresql").render_as_string(hide_password=False)
    prefix = f"{name}."
    port = free_port()
    env = {
        **os.environ,
        "KAFKA_BOOTSTRAP_SERVERS": stack_env["KAFKA_BOOTSTRAP_SERVERS"],
        "KAFKA_TOPIC_PREFIX": prefix,
        "DATABASE_URL": server.set(database=name).render_as_string(hide_password=False),
        "API_KEYS": stack_env["API_KEY"],
        "INTAKE_API_KEYS": stack_env["API_KEY"],
        "INTAKE_HTTP_PORT": str(port),
        "INTAKE_PROCESSES": str(processes),
    }
    env.pop("INTAKE_SMTP_PORT", None)  # no inbound mail server: only HTTP is measured
    await _admin(admin_dsn, f'CREATE DATABASE "{name}"')
    try:
        # Its output goes to a file of its own, shown if it fails, not over the benchmark's table.
        with tempfile.TemporaryFile() as log:
            await _run_to_end(MIGRATE, env, log)
            process = await asyncio.create_subprocess_exec(
                *SERVE, cwd=ROOT, env=env, stdin=DEVNULL, stdout=log, stderr=STDOUT
            )
            async with stopped_at_exit(process):
                await wait_ready(
                    f"http://127.0.0.1:{port}/readyz",
                    process,
                    name="the benchmark's intake",
                    seconds=60,
                    detail=lambda: _tail(log),
                )
                yield LoneIntake(f"http://127.0.0.1:{port}/v1/incidents", process.pid)
    finally:
        await _admin(admin_dsn, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await asyncio.to_thread(delete_topics, stack_env["KAFKA_BOOTSTRAP_SERVERS"], prefix)


async def _admin(dsn: str, statement: str) -> None:
    connection = await asyncpg.connect(dsn)
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


async def _run_to_end(argv: tuple[str, ...], env: Mapping[str, str], log: IO[bytes]) -> None:
    process = await asyncio.create_subprocess_exec(
        *argv, cwd=ROOT, env=dict(env), stdin=DEVNULL, stdout=log, stderr=STDOUT
    )
    if await process.wait() != 0:
        raise RuntimeError(f"`{' '.join(argv[1:])}` exited with {process.returncode}{_tail(log)}")


def _tail(log: IO[bytes]) -> str:
    log.seek(0)
    return ":\n" + log.read().decode(errors="replace")[-3000:]
