"""Group commit: items submitted by concurrent callers are gathered into groups, and each group
is handed to one `commit` call (one transaction), so the cost of a durable commit is shared.

A group is cut when it holds `max_size` items or when its first item has waited `max_wait`
seconds, whichever comes first; and at once when no group is committing, since then waiting
would only delay it (a lone report is not held back), while the reports that arrive during a
commit gather behind it. So groups get larger exactly when the database is busier, and the
wait can be long (5 ms by default) at no cost to a report that comes alone. At most
`max_in_flight` groups commit at once.
Each caller gets its own answer: `commit` returns one result or exception per item, and an
exception raised by `commit` itself is every caller's answer.
"""

import asyncio
import contextlib
import contextvars
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")


@dataclass(frozen=True)
class _Waiting(Generic[T, R]):
    item: T
    answer: asyncio.Future[R]
    arrived: float


class GroupCommitter(Generic[T, R]):
    """Gathers `submit`ted items into groups and commits each group with one `commit` call."""

    def __init__(
        self,
        commit: Callable[[Sequence[T]], Awaitable[Sequence[R | Exception]]],
        *,
        max_size: int,
        max_wait: float,
        max_in_flight: int,
    ) -> None:
        if max_size < 1 or max_wait < 0 or max_in_flight < 1:
            raise ValueError("max_size and max_in_flight must be >= 1, max_wait >= 0")
        self._commit_group = commit
        self._max_size, self._max_wait = max_size, max_wait
        self._slots = asyncio.Semaphore(max_in_flight)
        self._waiting: list[_Waiting[T, R]] = []
        self._wakeup = asyncio.Event()
        self._former: asyncio.Task[None] | None = None
        self._in_flight: set[asyncio.Task[None]] = set()
        self._closed = False

    async def submit(self, item: T) -> R:
        """The item's own answer, once its group has been committed."""
        if self._closed:
            raise RuntimeError("the group committer is closed")
        loop = asyncio.get_running_loop()
        answer: asyncio.Future[R] = loop.create_future()
        self._waiting.append(_Waiting(item, answer, loop.time()))
        # The former only needs waking to start a group's timer or to cut a full group.
        if len(self._waiting) == 1 or len(self._waiting) >= self._max_size:
            self._wakeup.set()
        # Started on first use, so it runs on the loop that serves the requests; in a context
        # of its own, so no request's context (e.g. its log fields) leaks into every group.
        if self._former is None or self._former.done():
            self._former = asyncio.create_task(self._form_groups(), context=contextvars.Context())
        return await answer

    async def close(self) -> None:
        """Stop forming groups on the timer, commit what is still waiting, and wait for every
        group in flight, so no transaction is cut off by the engine closing after us."""
        self._closed = True
        if self._former is not None:
            self._former.cancel()
            await asyncio.gather(self._former, return_exceptions=True)
        self._drop_abandoned()
        while group := self._cut():
            await self._slots.acquire()
            await self._commit(group)
        await asyncio.gather(*self._in_flight, return_exceptions=True)

    async def _form_groups(self) -> None:
        while True:
            await self._slots.acquire()
            try:
                group = await self._next_group()
            except BaseException:
                self._slots.release()
                raise
            task = asyncio.create_task(self._commit(group))
            self._in_flight.add(task)
            task.add_done_callback(self._committed)

    def _committed(self, task: "asyncio.Task[None]") -> None:
        self._in_flight.discard(task)
        self._wakeup.set()  # the group waiting behind it may go now

    async def _next_group(self) -> list[_Waiting[T, R]]:
        loop = asyncio.get_running_loop()
        while True:
            self._drop_abandoned()
            timeout: float | None = None
            if self._waiting:
                if not self._in_flight or len(self._waiting) >= self._max_size:
                    return self._cut()
                timeout = self._waiting[0].arrived + self._max_wait - loop.time()
                if timeout <= 0:
                    return self._cut()
            self._wakeup.clear()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(timeout):
                    await self._wakeup.wait()

    def _drop_abandoned(self) -> None:
        # A caller that gave up (its request was cancelled) has nothing to commit.
        self._waiting = [waiting for waiting in self._waiting if not waiting.answer.done()]

    def _cut(self) -> list[_Waiting[T, R]]:
        group = self._waiting[: self._max_size]
        del self._waiting[: self._max_size]
        return group

    async def _commit(self, group: list[_Waiting[T, R]]) -> None:
        """Commit one group (holding a slot, released here) and answer each of its callers."""
        try:
            results = await self._commit_group([waiting.item for waiting in group])
            if len(results) != len(group):
                raise RuntimeError(f"{len(results)} results for a group of {len(group)}")
        except BaseException as error:
            for waiting in group:
                _answer(waiting.answer, error)
            if not isinstance(error, Exception):
                raise  # cancellation: the callers were told, the task still ends cancelled
            return
        finally:
            self._slots.release()
        for waiting, result in zip(group, results, strict=True):
            _answer(waiting.answer, result)


def _answer(future: asyncio.Future[R], result: R | BaseException) -> None:
    if future.done():
        return  # the caller gave up waiting
    if isinstance(result, asyncio.CancelledError):
        future.cancel()
    elif isinstance(result, BaseException):
        future.set_exception(result)
    else:
        future.set_result(result)
