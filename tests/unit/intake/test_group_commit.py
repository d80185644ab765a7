"""The group committer with a fake commit: groups are cut when full, at once when no group is
committing, else when the first report's wait is over or the commit before them ends; they grow
while the commits in flight are busy, skip callers that gave up, and give each caller its own
answer or error."""

import asyncio
from collections.abc import Sequence

import pytest
from harness import eventually
from intake.group_commit import GroupCommitter


class FakeCommit:
    """Records each group; answers n with n * 10, or an error for items listed in `refuse`."""

    def __init__(self, refuse: Sequence[int] = ()) -> None:
        self.groups: list[list[int]] = []
        self.refuse = set(refuse)
        self.release = asyncio.Event()
        self.release.set()

    async def __call__(self, items: Sequence[int]) -> list[int | Exception]:
        self.groups.append(list(items))
        await self.release.wait()
        return [ValueError(n) if n in self.refuse else n * 10 for n in items]


async def settle() -> None:
    """Let every task that can run, run (no time passes)."""
    for _ in range(5):
        await asyncio.sleep(0)


def committer(
    commit: FakeCommit, *, size: int = 100, wait: float = 60.0, in_flight: int = 1
) -> GroupCommitter[int, int]:
    return GroupCommitter(commit, max_size=size, max_wait=wait, max_in_flight=in_flight)


async def test_a_full_group_commits_without_waiting_for_the_timer() -> None:
    commit = FakeCommit()
    reports = committer(commit, size=3)
    answers = await asyncio.gather(*(reports.submit(n) for n in range(6)))
    assert answers == [0, 10, 20, 30, 40, 50]
    assert commit.groups == [[0, 1, 2], [3, 4, 5]]
    await reports.close()


async def test_reports_arriving_together_share_a_group_even_with_no_wait() -> None:
    commit = FakeCommit()
    reports = committer(commit, wait=0)
    assert await asyncio.gather(*(reports.submit(n) for n in range(5))) == [0, 10, 20, 30, 40]
    assert commit.groups == [[0, 1, 2, 3, 4]]
    await reports.close()


async def test_a_lone_report_commits_at_once_when_no_group_is_committing() -> None:
    commit = FakeCommit()
    reports = committer(commit, wait=60)
    assert await asyncio.wait_for(reports.submit(7), timeout=5) == 70
    assert commit.groups == [[7]]
    await reports.close()


async def test_behind_a_commit_a_group_waits_until_its_wait_is_over() -> None:
    commit = FakeCommit()
    commit.release.clear()
    reports = committer(commit, wait=0.001, in_flight=2)
    first = asyncio.create_task(reports.submit(0))
    await settle()
    second = asyncio.create_task(reports.submit(1))
    await eventually(lambda: len(commit.groups) == 2)  # cut with the first still committing
    assert commit.groups == [[0], [1]]
    commit.release.set()
    assert list(await asyncio.gather(first, second)) == [0, 10]
    await reports.close()


async def test_behind_a_commit_a_group_goes_when_that_commit_ends() -> None:
    commit = FakeCommit()
    commit.release.clear()
    reports = committer(commit, wait=60, in_flight=2)
    first = asyncio.create_task(reports.submit(0))
    await settle()
    later = [asyncio.create_task(reports.submit(n)) for n in (1, 2)]
    await settle()
    assert commit.groups == [[0]]  # the others wait behind it, not for their 60 s
    commit.release.set()
    assert await asyncio.wait_for(asyncio.gather(first, *later), timeout=5) == [0, 10, 20]
    assert commit.groups == [[0], [1, 2]]
    await reports.close()


async def test_the_next_group_grows_while_the_commits_in_flight_are_busy() -> None:
    commit = FakeCommit()
    commit.release.clear()
    reports = committer(commit, wait=0, in_flight=1)
    first = asyncio.create_task(reports.submit(0))
    await settle()  # the first group goes out
    later = [asyncio.create_task(reports.submit(n)) for n in range(1, 6)]
    await settle()
    assert commit.groups == [[0]]
    commit.release.set()
    assert await asyncio.gather(first, *later) == [0, 10, 20, 30, 40, 50]
    assert commit.groups == [[0], [1, 2, 3, 4, 5]]
    await reports.close()


async def test_each_caller_gets_its_own_answer_or_error() -> None:
    commit = FakeCommit(refuse=[1])
    reports = committer(commit, wait=0)
    answers = await asyncio.gather(*(reports.submit(n) for n in range(3)), return_exceptions=True)
    assert answers[0] == 0 and answers[2] == 20
    assert isinstance(answers[1], ValueError)
    await reports.close()


async def test_a_failed_commit_is_every_callers_error() -> None:
    async def unavailable(items: Sequence[int]) -> list[int | Exception]:
        raise ConnectionError("database unavailable")

    reports: GroupCommitter[int, int] = GroupCommitter(
        unavailable, max_size=10, max_wait=0, max_in_flight=1
    )
    answers = await asyncio.gather(*(reports.submit(n) for n in range(3)), return_exceptions=True)
    assert all(isinstance(answer, ConnectionError) for answer in answers)
    await reports.close()


async def test_a_caller_that_gave_up_is_not_committed() -> None:
    commit = FakeCommit()
    commit.release.clear()
    reports = committer(commit, wait=0, in_flight=1)
    first = asyncio.create_task(reports.submit(0))
    await settle()
    gave_up, waits = asyncio.create_task(reports.submit(1)), asyncio.create_task(reports.submit(2))
    await settle()
    gave_up.cancel()
    commit.release.set()
    assert [await first, await waits] == [0, 20]
    assert commit.groups == [[0], [2]]
    await reports.close()


async def test_close_commits_what_is_waiting_and_refuses_more() -> None:
    commit = FakeCommit()
    commit.release.clear()
    reports = committer(commit, wait=60, in_flight=2)
    committing = asyncio.create_task(reports.submit(0))
    await settle()
    waiting = [asyncio.create_task(reports.submit(n)) for n in (1, 2)]
    await settle()
    closing = asyncio.create_task(reports.close())
    await settle()
    commit.release.set()
    await closing
    assert await asyncio.gather(committing, *waiting) == [0, 10, 20]
    assert commit.groups == [[0], [1, 2]]
    with pytest.raises(RuntimeError):
        await reports.submit(3)


def test_limits_are_checked() -> None:
    with pytest.raises(ValueError):
        committer(FakeCommit(), size=0)
