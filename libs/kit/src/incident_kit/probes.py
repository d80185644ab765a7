"""What /readyz and /healthz look at.

Readiness says whether this replica can do its job now. The checks (PostgreSQL, Kafka) run
concurrently, each under a timeout, so a hung dependency makes the probe answer "not ready" in
time instead of hanging it. A service names the checks it needs; the others are reported but do
not decide (intake takes reports while Kafka is down: its outbox keeps the events).

Liveness says whether the process still does its work. FastStream restarts a consume task that
raised, but not one that returned or was cancelled; and a kit background task (the outbox relay,
a service's loop) that ended is never restarted. Either way the process looks healthy and does
nothing, so /healthz answers 503 and the orchestrator restarts it.
"""

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Any

import asyncpg
from faststream.kafka.subscriber.usecase import LogicSubscriber
from sqlalchemy.engine import make_url

log = logging.getLogger(__name__)
Check = Callable[[], Awaitable[bool]]


async def run_checks(checks: Mapping[str, Check], *, timeout: float) -> dict[str, bool]:
    """Each check's verdict; one that fails, raises or outlasts `timeout` is False."""

    async def bounded(check: Check) -> bool:
        try:
            async with asyncio.timeout(timeout):
                return await check()
        except Exception:  # TimeoutError included: any failure is "not ready"
            return False

    verdicts = await asyncio.gather(*(bounded(check) for check in checks.values()))
    return dict(zip(checks, verdicts, strict=True))


class Readiness:
    """The checks' verdicts, shared: callers that come while a round runs, or within
    `fresh_seconds` after it, get its verdicts. /readyz is never shed and needs no key, so a
    flood of it must not become a flood of database connections."""

    def __init__(
        self, checks: Mapping[str, Check], *, timeout: float, fresh_seconds: float = 1.0
    ) -> None:
        self._checks, self._timeout, self._fresh_seconds = dict(checks), timeout, fresh_seconds
        self._round: asyncio.Task[dict[str, bool]] | None = None
        self._ended_at = 0.0

    async def __call__(self) -> dict[str, bool]:
        shared = self._round
        if shared is None or (
            shared.done() and time.monotonic() - self._ended_at >= self._fresh_seconds
        ):
            shared = self._round = asyncio.create_task(
                run_checks(self._checks, timeout=self._timeout)
            )
            shared.add_done_callback(self._note_end)
        # Shielded: a caller that hangs up does not cancel the round the others wait for.
        return dict(await asyncio.shield(shared))

    def _note_end(self, _: asyncio.Task[dict[str, bool]]) -> None:
        self._ended_at = time.monotonic()


def database_check(database_url: str, *, application_name: str) -> Check:
    """Whether PostgreSQL answers, on a connection of the probe's own: under load every pooled
    connection may be busy for a while, and a busy replica is still ready (shedding copes)."""
    dsn = make_url(database_url).set(drivername="postgresql").render_as_string(False)

    async def postgresql_answers() -> bool:
        connection = await asyncpg.connect(
            dsn, server_settings={"application_name": application_name}
        )
        try:
            answered = await connection.fetchval("SELECT 1") == 1
        except BaseException:
            connection.terminate()  # the server may hang: drop the socket, wait for nothing
            raise
        await connection.close()
        return bool(answered)

    return postgresql_answers


class Liveness:
    """The tasks a running service must keep alive: its consumers' and its background tasks."""

    def __init__(self, subscribers: Callable[[], Iterable[Any]]) -> None:
        self._subscribers = subscribers
        self._watched: dict[str, asyncio.Task[Any]] = {}

    def watch(self, name: str, task: asyncio.Task[Any]) -> None:
        self._watched[name] = task
        task.add_done_callback(lambda ended: self._log_end(name, ended))

    def stop_watching(self) -> None:
        """The service is stopping: tasks ending from now on are meant to."""
        self._watched.clear()

    def failures(self) -> list[str]:
        """What ended while it should run; empty while the service is healthy."""
        ended = [
            f"{name}: {_how_it_ended(task)}" for name, task in self._watched.items() if task.done()
        ]
        return ended + [
            f"consumer of {', '.join(subscriber.topic_names)}: its consume task ended"
            for subscriber in self._subscribers()
            if isinstance(subscriber, LogicSubscriber) and _consumer_ended(subscriber)
        ]

    def _log_end(self, name: str, task: asyncio.Task[Any]) -> None:
        if self._watched.get(name) is not task:
            return  # stopping
        error = None if task.cancelled() else task.exception()
        log.error("%s ended (%s); /healthz now fails", name, _how_it_ended(task), exc_info=error)


def _consumer_ended(subscriber: LogicSubscriber[Any]) -> bool:
    # A failed task stays in the list next to its restarted successor; a cancelled or returned
    # one is not replaced. A running subscriber without any task has no handler to consume for.
    tasks = subscriber.tasks
    return subscriber.running and bool(tasks) and all(task.done() for task in tasks)


def _how_it_ended(task: asyncio.Task[Any]) -> str:
    # Only the error's class: /healthz is unauthenticated, the message goes to the log.
    if task.cancelled():
        return "cancelled"
    error = task.exception()
    return f"failed with {type(error).__name__}" if error else "returned"
