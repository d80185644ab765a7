"""Open-loop load: POSTs started on a clock at a fixed rate, never waiting for earlier answers,
so a slow system meets the arrivals a real one would. Latencies count from when each POST was
due, not when it left, so a load generator falling behind cannot hide a slow system."""

import asyncio
import json
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from bench.http_pool import HttpPool
from bench.incidents import IncidentRequest


@dataclass
class Sends:
    """What the POSTs of one run gave; times are perf_counter seconds."""

    due_at: dict[str, float] = field(default_factory=dict)  # incident id -> its POST's due time
    answer_seconds: list[float] = field(default_factory=list)  # due -> 2xx answer
    due_and_seconds: list[tuple[float, float]] = field(default_factory=list)  # per 2xx answer
    failures: Counter[str] = field(default_factory=Counter)  # "HTTP 503", "ConnectError", ...
    timeouts: int = 0
    first_failure: str = ""
    started: float = 0.0
    finished_sending: float = 0.0
    max_lag: float = 0.0  # the latest a POST left after its due time

    @property
    def failed(self) -> int:
        return sum(self.failures.values())


async def post_on_schedule(
    pool: HttpPool,
    path: str,
    *,
    rate: float,
    count: int,
    request: Callable[[int], IncidentRequest],
    timeout: float,
) -> Sends:
    """POST `request(i)` to `path` for i < count, the i-th due at i / rate seconds from now;
    one not answered within `timeout` seconds counts as a timeout."""
    sends = Sends(started=time.perf_counter())
    pending: set[asyncio.Task[None]] = set()
    for index in range(count):
        due = sends.started + index / rate
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        sends.max_lag = max(sends.max_lag, time.perf_counter() - due)
        task = asyncio.create_task(_post(pool, path, request(index), due, timeout, sends))
        pending.add(task)
        task.add_done_callback(pending.discard)
    sends.finished_sending = time.perf_counter()
    await asyncio.gather(*list(pending))
    return sends


async def _post(
    pool: HttpPool, path: str, request: IncidentRequest, due: float, timeout: float, sends: Sends
) -> None:
    """POST one incident; a failure is counted, never retried."""
    try:
        status, body = await pool.post_json(
            path, request.body, headers=request.headers, timeout=timeout
        )
    except TimeoutError:
        sends.timeouts += 1
        return
    except OSError as error:
        _failed(sends, type(error).__name__, f"{type(error).__name__}: {error}")
        return
    if not 200 <= status < 300:
        _failed(sends, f"HTTP {status}", f"HTTP {status}: {body[:200]!r}")
        return
    sends.answer_seconds.append(time.perf_counter() - due)
    sends.due_and_seconds.append((due, sends.answer_seconds[-1]))
    sends.due_at[json.loads(body)["incident_id"]] = due


def _failed(sends: Sends, reason: str, detail: str) -> None:
    sends.failures[reason] += 1
    sends.first_failure = sends.first_failure or detail
