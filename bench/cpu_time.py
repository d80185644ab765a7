"""CPU time of process trees, read from /proc: a component's root process, its live descendants
and the children it has reaped, so PostgreSQL backends that come and go are all counted.

Also how often each tree's threads were put on a CPU (the run count of /proc/<pid>/task/<tid>/
schedstat): nearly every run is a wake-up by a message, a reply or a timer, so the runs per
incident count the round trips an incident costs, and CPU per run what each costs. Only live
threads have a run count: a process that exits takes its count with it."""

import asyncio
import os
import statistics
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

TICKS_PER_SECOND = os.sysconf("SC_CLK_TCK")
# Every reading also holds this process's own CPU time, under this name.
LOAD_GENERATOR = "load generator"
# Fields after the command name in /proc/<pid>/stat (the name may contain spaces and parens).
_PPID, _UTIME, _STIME, _CUTIME, _CSTIME = 1, 11, 12, 13, 14


def _stat_fields(pid: int) -> list[str] | None:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:  # exited meanwhile
        return None
    return text[text.rindex(")") + 2 :].split()


def _children_of() -> dict[int, list[int]]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (fields := _stat_fields(int(entry.name))) is not None:
            children.setdefault(int(fields[_PPID]), []).append(int(entry.name))
    return children


def _tree(root: int, children: dict[int, list[int]]) -> Iterator[int]:
    """The root and its descendants, as `children` (one scan of /proc) has them."""
    pending = [root]
    while pending:
        pid = pending.pop()
        yield pid
        pending += children.get(pid, [])


def _tree_ticks(root: int, children: dict[int, list[int]]) -> int:
    """utime+stime of the tree's live processes plus the cutime+cstime of the children they
    reaped; a child is counted live or reaped, never both."""
    total = 0
    for pid in _tree(root, children):
        fields = _stat_fields(pid)
        if fields is not None:
            total += sum(int(fields[i]) for i in (_UTIME, _STIME, _CUTIME, _CSTIME))
    return total


def _tree_runs(root: int, children: dict[int, list[int]]) -> int:
    """How many times the threads of the tree's live processes have been run on a CPU."""
    total = 0
    for pid in _tree(root, children):
        for schedstat in Path(f"/proc/{pid}/task").glob("*/schedstat"):
            try:
                total += int(schedstat.read_text().split()[2])
            except (OSError, IndexError, ValueError):  # the thread exited meanwhile
                continue
    return total


def cpu_seconds(roots: dict[str, int]) -> dict[str, float]:
    """CPU seconds used so far by each named process tree."""
    children = _children_of()
    return {name: _tree_ticks(pid, children) / TICKS_PER_SECOND for name, pid in roots.items()}


@dataclass(frozen=True)
class Window:
    """CPU seconds used by each named tree (and by this process, the load generator) over
    `seconds` of wall time."""

    seconds: float
    used: dict[str, float]
    runs: dict[str, int] = field(default_factory=dict)  # times run on a CPU, of live threads

    def system_cores(self, names: Iterable[str]) -> float:
        """How many cores the named trees kept busy together, on average."""
        return sum(self.used.get(name, 0.0) for name in names) / self.seconds


@dataclass(frozen=True)
class Reading:
    at: float
    used: dict[str, float]
    runs: dict[str, int] = field(default_factory=dict)

    def since(self, earlier: "Reading") -> Window:
        spent = {name: self.used[name] - earlier.used[name] for name in earlier.used}
        # A thread that exited took its runs along: never below zero.
        ran = {name: max(self.runs[name] - earlier.runs[name], 0) for name in earlier.runs}
        return Window(self.at - earlier.at, spent, ran)


def read_cpu(roots: dict[str, int]) -> Reading:
    children = _children_of()  # one scan of /proc serves both counts
    used = {name: _tree_ticks(pid, children) / TICKS_PER_SECOND for name, pid in roots.items()}
    ran = {name: _tree_runs(pid, children) for name, pid in roots.items()}
    return Reading(time.monotonic(), used | {LOAD_GENERATOR: time.process_time()}, ran)


async def idle_rate(roots: dict[str, int], *, seconds: float) -> Window:
    """What each tree uses per second when nothing is asked of it: the median of one-second
    windows, so that one burst (a checkpoint, a log flush) does not pass for the idle rate."""
    windows = []
    for _ in range(max(1, round(seconds))):
        start = read_cpu(roots)
        await asyncio.sleep(1)
        windows.append(read_cpu(roots).since(start))
    names = windows[0].used
    rates = {name: statistics.median(w.used[name] / w.seconds for w in windows) for name in names}
    return Window(1.0, rates)


async def wait_until_quiet(
    roots: dict[str, int], *, cores: float, timeout: float, window: float = 2.0
) -> float:
    """Wait until the trees together use less than `cores` over `window` seconds (the backlog
    of an earlier run is drained); return the last rate, in cores, whether quiet or timed out."""
    started = time.monotonic()
    while True:
        before = read_cpu(roots)
        await asyncio.sleep(window)
        rate = read_cpu(roots).since(before).system_cores(roots)
        waited = time.monotonic() - started
        if rate < cores or waited >= timeout:
            if waited > window * 1.5:
                print(f"  waited {waited:.0f} s for the stack to go quiet: {rate:.2f} cores busy")
            return rate
        if waited <= window * 1.5:
            print(f"  the stack is busy ({rate:.2f} cores): waiting for it to go quiet")
