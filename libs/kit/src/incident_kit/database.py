"""The async SQLAlchemy engine and session factory (asyncpg), and the per-service schema."""

from collections.abc import Mapping

from sqlalchemy import MetaData
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import Session

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def service_metadata(schema: str) -> MetaData:
    """Metadata whose tables all live in the service's own PostgreSQL schema."""
    return MetaData(schema=schema, naming_convention=NAMING)


def create_engine(
    database_url: str,
    *,
    application_name: str = "incident-platform",
    pool_size: int = 10,
    pool_timeout_seconds: float = 30.0,
    server_settings: Mapping[str, str] | None = None,
) -> AsyncEngine:
    """The pool of one service; its connections carry `application_name`, so pg_stat_activity
    and the server log tell which service a session belongs to. A checkout that waits longer
    than `pool_timeout_seconds` raises sqlalchemy.exc.TimeoutError (HTTP answers it with 503).
    `server_settings` are set on each connection as it opens, for a pool of one purpose."""
    # No pre-ping: it cost a round trip per checkout (a third of all statements). A connection
    # PostgreSQL dropped fails its transaction, is discarded by the pool, and the work is
    # retried: consumers wait the outage out, HTTP answers 503 with Retry-After.
    # Bursts may borrow past the pool's size.
    return create_async_engine(
        database_url,
        pool_size=pool_size,
        max_overflow=20,
        pool_timeout=pool_timeout_seconds,
        pool_recycle=1800,
        # synchronous_commit is asked per session, so an acknowledged commit is on disk even on
        # a server configured otherwise (a 201 from intake means durably committed).
        connect_args={
            "server_settings": {
                **(server_settings or {}),
                "application_name": application_name,
                "synchronous_commit": "on",
            }
        },
    )


def create_session_factory(
    engine: AsyncEngine, *, like: async_sessionmaker[AsyncSession] | None = None
) -> async_sessionmaker[AsyncSession]:
    """Sessions of one runtime; their own Session class scopes commit hooks to this runtime.
    `like`: sessions of another engine of the same runtime, sharing its hooks (the relay's
    wake-up after a commit wrote events)."""
    session_class = (
        type("RuntimeSession", (Session,), {}) if like is None else like.kw["sync_session_class"]
    )
    return async_sessionmaker(engine, expire_on_commit=False, sync_session_class=session_class)
