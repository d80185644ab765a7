"""The careful client: incidents posted at a steady rate, each with its own Idempotency-Key,
retried with backoff on 5xx, 429, connection errors and timeouts until intake answers 201 or 200.
What it was told (incident ids it got a 201/200 for) is what the checks hold the system to.

No `dedup_key` is sent: the Idempotency-Key alone must keep a retried POST to one incident.
"""

import asyncio
import json
import random
import time
from collections import Counter
from dataclasses import dataclass, field

from bench.http_pool import HttpPool

ATTEMPT_TIMEOUT_S = 5.0
BACKOFF_FIRST_S = 0.25
BACKOFF_CAP_S = 4.0
RETRY_AFTER_503_S = 1.0
# A POST still not answered 2xx after this long is given up and reported as abandoned.
GIVE_UP_AFTER_S = 240.0
# The suite's incidents are service requests, one of intake's kinds; its SLA policy matches
# medium service requests (faults.preparation) and stays on the stack after the run.
KIND = "service_request"
SEVERITY = "medium"


def incident_body(key: str, *, skill: str) -> dict[str, object]:
    """The same key always gives the same body: a retry must be the very same request."""
    return {
        "title": title_of(key),
        "severity": SEVERITY,
        "kind": KIND,
        "required_skills": [skill],
        "customer": {"email": f"{key}@faults.example.com", "language": "en"},
    }


def title_of(key: str) -> str:
    return f"Fault suite {key}"


@dataclass
class LoadRecord:
    """What the client was told, per Idempotency-Key."""

    acknowledged: dict[str, str] = field(default_factory=dict)  # key -> incident id
    acknowledged_with_200: int = 0  # a retry that found its incident already committed
    retried: int = 0  # incidents that needed more than one attempt
    rejected: dict[str, str] = field(default_factory=dict)  # key -> a 4xx answer
    abandoned: list[str] = field(default_factory=list)
    attempts: Counter[str] = field(default_factory=Counter)  # "201", "503", "timeout", ...
    sent: int = 0


class SteadyLoad:
    """Open loop: a new incident every 1/rate seconds, never waiting for earlier answers."""

    def __init__(self, pool: HttpPool, *, prefix: str, skill: str, rate: float) -> None:
        self._pool, self._prefix, self._skill = pool, prefix, skill
        self.rate = rate
        self.record = LoadRecord()
        self._pending: set[asyncio.Task[None]] = set()
        self._issuer: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._issuer = asyncio.create_task(self._issue())

    async def stop(self, *, timeout: float = GIVE_UP_AFTER_S + 30) -> LoadRecord:
        """No new incidents; wait until every one sent is acknowledged, rejected or abandoned."""
        if self._issuer is not None:
            self._issuer.cancel()
        if self._pending:
            await asyncio.wait(list(self._pending), timeout=timeout)
        return self.record

    async def _issue(self) -> None:
        loop = asyncio.get_running_loop()
        due = loop.time()
        while True:
            if (delay := due - loop.time()) > 0:
                await asyncio.sleep(delay)
            key = f"{self._prefix}-{self.record.sent:05d}"
            self.record.sent += 1
            task = asyncio.create_task(self._report(key))
            self._pending.add(task)
            task.add_done_callback(self._pending.discard)
            # A generator that fell behind catches up by at most a second, not in one burst.
            due = max(due + 1 / self.rate, loop.time() - 1.0)

    async def _report(self, key: str) -> None:
        body = incident_body(key, skill=self._skill)
        headers = {"Idempotency-Key": key}
        give_up_at = time.monotonic() + GIVE_UP_AFTER_S
        record = self.record
        for attempt in range(1_000_000):
            if attempt == 1:
                record.retried += 1
            outcome, status, answer = await self._attempt(body, headers)
            record.attempts[outcome] += 1
            if status in (200, 201):
                record.acknowledged[key] = str(json.loads(answer)["incident_id"])
                record.acknowledged_with_200 += status == 200
                return
            if status is not None and 400 <= status < 500 and status != 429:
                record.rejected[key] = f"HTTP {status}: {answer[:300]!r}"
                return
            if time.monotonic() >= give_up_at:
                break
            backoff = min(BACKOFF_CAP_S, BACKOFF_FIRST_S * 2**attempt) * random.uniform(0.5, 1)
            # Intake's 503 says Retry-After: 1 (the pool does not surface headers).
            await asyncio.sleep(max(backoff, RETRY_AFTER_503_S) if status == 503 else backoff)
        record.abandoned.append(key)

    async def _attempt(
        self, body: dict[str, object], headers: dict[str, str]
    ) -> tuple[str, int | None, bytes]:
        """(outcome, HTTP status or None, body) of one POST."""
        try:
            status, answer = await self._pool.post_json(
                "/v1/incidents", body, headers=headers, timeout=ATTEMPT_TIMEOUT_S
            )
        except TimeoutError:
            return "timeout", None, b""
        except OSError as error:
            return type(error).__name__, None, b""
        return str(status), status, answer
