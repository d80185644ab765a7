"""How many reports one client address may send through the public web form in a window
(pure; time is passed in). Memory is bounded: the least recently seen addresses are forgotten
first, which can only ever be lenient."""

from collections import OrderedDict, deque
from datetime import datetime, timedelta


class RateLimit:
    def __init__(self, *, limit: int, window: timedelta, max_clients: int = 10_000) -> None:
        self._limit, self._window, self._max_clients = limit, window, max_clients
        self._seen: OrderedDict[str, deque[datetime]] = OrderedDict()

    def allow(self, client: str, *, now: datetime) -> bool:
        """Whether this client may send one more now; counts it when it may."""
        times = self._seen.pop(client, deque())
        while times and times[0] <= now - self._window:
            times.popleft()
        allowed = len(times) < self._limit
        if allowed:
            times.append(now)
        self._seen[client] = times
        if len(self._seen) > self._max_clients:
            self._seen.popitem(last=False)
        return allowed
