"""Databases on any PostgreSQL cluster given by URL: URLs, create, drop, the default URL.

The local cluster itself (initdb, start, stop) is postgres_cluster.
"""

from __future__ import annotations

import asyncio
import os
import re
from collections.abc import Coroutine, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

import asyncpg

from incident_devstack.paths import StackPaths
from incident_devstack.processes import StackError
from incident_devstack.state import load_state

DATABASE = "incidents"
SUPERUSER = "postgres"
_DB_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")
T = TypeVar("T")


def database_url(port: int, name: str = DATABASE) -> str:
    return f"postgresql+asyncpg://{SUPERUSER}@127.0.0.1:{port}/{name}"


def with_database(url: str, name: str) -> str:
    """`url` pointing at database `name` on the same server, same user and options."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{name}"))


def asyncpg_dsn(url: str) -> str:
    """A SQLAlchemy-style URL (`postgresql+asyncpg://`) as a DSN asyncpg accepts."""
    return re.sub(r"^postgresql\+\w+://", "postgresql://", url)


def run_in_own_loop(work: Coroutine[Any, Any, T]) -> T:
    """Run `work` to the end, callable from inside a running event loop too."""
    # A private thread has no running loop, so asyncio.run works whoever calls.
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, work).result()


async def accepts_connections_async(url: str) -> bool:
    """Whether the server of `url` lets a session in (not while it is starting or recovering)."""
    try:
        connection = await asyncpg.connect(asyncpg_dsn(url), timeout=2.0)
    except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError):
        return False
    await connection.close()
    return True


async def server_settings_async(url: str, names: Iterable[str]) -> dict[str, str]:
    """The current values of the server settings `names` (as pg_settings spells them)."""
    connection = await asyncpg.connect(asyncpg_dsn(url))
    try:
        query = "SELECT name, setting FROM pg_settings WHERE name = any($1::text[])"
        rows = await connection.fetch(query, list(names))
    finally:
        await connection.close()
    return {str(row["name"]): str(row["setting"]) for row in rows}


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
    """Synchronous create_database_async."""
    url = database_url or default_database_url()
    return run_in_own_loop(create_database_async(name, database_url=url))


def drop_database(name: str, *, database_url: str | None = None) -> None:
    run_in_own_loop(drop_database_async(name, database_url=database_url or default_database_url()))


def accepts_connections(url: str) -> bool:
    return run_in_own_loop(accepts_connections_async(url))


def server_settings(url: str, names: Iterable[str]) -> dict[str, str]:
    return run_in_own_loop(server_settings_async(url, names))
