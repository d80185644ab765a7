"""The SQL of the API's clients and their keys (only digests are stored: intake.api_keys)."""

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from intake.domain import Client, Scope
from intake.tables import ApiClientRow, ApiKeyRow


@dataclass(frozen=True)
class StoredKey:
    key_id: str
    digest: str
    client: Client
    created_at: datetime
    revoked_at: datetime | None


def _stored(row: ApiKeyRow) -> StoredKey:
    scopes = frozenset(Scope(scope) for scope in row.scopes)
    return StoredKey(
        row.key_id, row.key_digest, Client(row.client_id, scopes), row.created_at, row.revoked_at
    )


async def key_by_id(session: AsyncSession, *, key_id: str) -> StoredKey | None:
    row = await session.get(ApiKeyRow, key_id)
    return _stored(row) if row else None


async def add_key(
    session: AsyncSession,
    *,
    client_id: str,
    key_id: str,
    digest: str,
    scopes: Collection[Scope],
    now: datetime,
) -> None:
    """Store a key's digest for the client, creating the client on its first key."""
    await session.execute(
        insert(ApiClientRow)
        .values(client_id=client_id, created_at=now)
        .on_conflict_do_nothing(index_elements=[ApiClientRow.client_id])
    )
    session.add(
        ApiKeyRow(
            key_id=key_id,
            client_id=client_id,
            key_digest=digest,
            scopes=sorted(str(scope) for scope in scopes),
            created_at=now,
        )
    )
    await session.flush()


async def revoke_keys(
    session: AsyncSession, *, client_id: str, key_id: str | None, now: datetime
) -> list[str]:
    """Revoke the client's keys still in use (or only `key_id`); the ids of those revoked."""
    statement = (
        update(ApiKeyRow)
        .where(ApiKeyRow.client_id == client_id, ApiKeyRow.revoked_at.is_(None))
        .values(revoked_at=now)
        .returning(ApiKeyRow.key_id)
    )
    if key_id is not None:
        statement = statement.where(ApiKeyRow.key_id == key_id)
    return sorted(await session.scalars(statement))


async def all_keys(session: AsyncSession) -> list[StoredKey]:
    query = select(ApiKeyRow).order_by(ApiKeyRow.client_id, ApiKeyRow.created_at)
    return [_stored(row) for row in await session.scalars(query)]
