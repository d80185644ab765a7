"""SLA policies, cached in the process: every report is matched against them, and they change
rarely. A write through this replica's API invalidates at once; another replica's write is seen
within `SLA_POLICY_CACHE_SECONDS` (the price of not reading every policy for every report)."""

import time

from sqlalchemy.ext.asyncio import AsyncSession

from sla import repository
from sla.domain import Policy


class PolicyCache:
    def __init__(self, ttl_seconds: float) -> None:
        self._ttl = ttl_seconds
        self._policies: list[Policy] | None = None
        self._expires = 0.0

    async def policies(self, session: AsyncSession) -> list[Policy]:
        if self._policies is None or time.monotonic() >= self._expires:
            self._policies = await repository.policies(session)
            self._expires = time.monotonic() + self._ttl
        return self._policies

    def forget(self) -> None:
        """A policy was just written here: read them afresh for the next report."""
        self._policies = None
