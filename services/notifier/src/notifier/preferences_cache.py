"""Customer preferences, cached in the process: they are read for every message and change
rarely. This replica's own writes invalidate at once; another replica's write is seen within
`NOTIFIER_PREFERENCES_CACHE_SECONDS` (the price of not reading them on every message)."""

import time

from sqlalchemy.ext.asyncio import AsyncSession

from notifier import repository
from notifier.domain import Preferences


class PreferencesCache:
    def __init__(self, ttl_seconds: float, max_entries: int = 100_000) -> None:
        self._ttl, self._max = ttl_seconds, max_entries
        self._entries: dict[str, tuple[float, Preferences | None]] = {}

    async def preferences_of(
        self, session: AsyncSession, *, customer_id: str | None
    ) -> Preferences | None:
        if customer_id is None:
            return None
        moment = time.monotonic()
        cached = self._entries.get(customer_id)
        if cached is not None and cached[0] > moment:
            return cached[1]
        preferences = await repository.preferences_of(session, customer_id=customer_id)
        self.remember(customer_id, preferences)
        return preferences

    def remember(self, customer_id: str, preferences: Preferences | None) -> None:
        """The customer's preferences (None: none stored) as just read with other rows."""
        if len(self._entries) >= self._max:
            self._entries.clear()  # crude, but bounded; a cold cache only costs reads
        self._entries[customer_id] = (time.monotonic() + self._ttl, preferences)

    def forget(self, customer_id: str) -> None:
        """The customer's preferences were just written here: read them afresh next time."""
        self._entries.pop(customer_id, None)
