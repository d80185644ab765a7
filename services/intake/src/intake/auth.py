"""Authenticating API requests: which client an `Authorization: Bearer` key belongs to, and
whether it holds a scope the route needs. 401 without a key, or with one that is unknown or
revoked, whatever text it holds (never a 500); 403 naming the scopes that would do.

The keys of API_KEYS are the built-in client `env`, holding every scope (domain.clients).
Intake's own keys (intake.api_keys) are found by their key id and checked against their
digest. What the database said about a key id is kept for `api_key_cache_seconds`, so a
revoked key stops working within that time on every replica, and a stream of requests costs
one lookup per key and period.
"""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from incident_kit.clock import Clock
from incident_kit.problems import Problem
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from intake import api_keys, domain, repository
from intake.domain import ENV_CLIENT, Client, Scope, ScopeMissing
from intake.repository import StoredKey

# Where a route's refusal tells the rejection metric its reason (intake.rejections).
REJECTION_REASON = "rejection_reason"
CACHE_LIMIT = 10_000
PROBLEM: dict[str, Any] = {"application/problem+json": {}}
AUTH_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: {"description": "No API key, or one unknown or revoked", "content": PROBLEM},
    403: {"description": "The key lacks the scope needed (`required_scopes`)", "content": PROBLEM},
}


@dataclass(frozen=True)
class _Looked:
    key: StoredKey | None
    until: datetime


class Authenticator:
    """Tells the client of a key, and makes FastAPI dependencies requiring scopes."""

    def __init__(
        self,
        *,
        env_keys: frozenset[str],
        sessions: async_sessionmaker[AsyncSession],
        clock: Clock,
        cache_seconds: float,
    ) -> None:
        # Digests, so any text is compared (compare_digest refuses non-ASCII str) in equal time.
        self._env_digests = [api_keys.key_digest(key) for key in env_keys]
        self._sessions, self._clock = sessions, clock
        self._cache_for = timedelta(seconds=cache_seconds)
        self._looked: dict[str, _Looked] = {}
        self._bearer = HTTPBearer(
            auto_error=False,
            description="An API key: one of API_KEYS, or one made by `python -m intake keys`.",
        )

    async def client_of(self, key: str) -> Client | None:
        """The client holding the key; None for an unknown or revoked one."""
        digest = api_keys.key_digest(key)
        if any(api_keys.same_digest(digest, known) for known in self._env_digests):
            return ENV_CLIENT
        key_id = api_keys.key_id_of(key)
        if key_id is None:
            return None
        stored = await self._stored_key(key_id)
        if stored is None or stored.revoked_at is not None:
            return None
        return stored.client if api_keys.same_digest(digest, stored.digest) else None

    async def _stored_key(self, key_id: str) -> StoredKey | None:
        now = self._clock.now()
        looked = self._looked.get(key_id)
        if looked is None or looked.until <= now:
            async with self._sessions() as session:
                stored = await repository.key_by_id(session, key_id=key_id)
            if len(self._looked) >= CACHE_LIMIT:
                self._looked.clear()  # a flood of made-up key ids must not grow memory
            looked = self._looked[key_id] = _Looked(stored, now + self._cache_for)
        return looked.key

    def requiring(self, *scopes: Scope) -> Callable[..., Awaitable[Client]]:
        """A dependency answering the request's client, if its key holds one of `scopes`."""
        needed = frozenset(scopes)
        bearer = self._bearer

        async def authenticated_client(
            request: Request,
            credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
        ) -> Client:
            if credentials is None:
                raise _unauthenticated(request, "missing_api_key", "send Authorization: Bearer")
            client = await self.client_of(credentials.credentials)
            if client is None:
                raise _unauthenticated(
                    request, "invalid_api_key", "the API key is not known or was revoked"
                )
            try:
                domain.require_any(client, needed)
            except ScopeMissing as error:
                raise scope_problem(request, error) from error
            return client

        return authenticated_client


def _unauthenticated(request: Request, reason: str, detail: str) -> Problem:
    setattr(request.state, REJECTION_REASON, reason)
    title = "Missing API key" if reason == "missing_api_key" else "Invalid API key"
    return Problem(401, title, detail, headers={"WWW-Authenticate": "Bearer"})


def scope_problem(request: Request, error: ScopeMissing, *, field: str | None = None) -> Problem:
    """403 naming the scopes that would do (and the field that needs them, if one does)."""
    setattr(request.state, REJECTION_REASON, "insufficient_scope")
    scopes = " ".join(str(scope) for scope in error.needed)
    challenge = f'Bearer error="insufficient_scope", scope="{scopes}"'
    extra: dict[str, Any] = {"field": field} if field else {}
    return Problem(
        403,
        "Insufficient scope",
        str(error),
        required_scopes=[str(scope) for scope in error.needed],
        headers={"WWW-Authenticate": challenge},
        **extra,
    )
