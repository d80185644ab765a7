"""The local stack as the fault suite drives it: brought up, its processes killed or frozen, and
left as it was found.

Every process is found from the devstack's own records (state.json, the PostgreSQL data dir and
each process's command line), so only this checkout's stack is touched: the machine may run
other stacks beside it.
"""

import asyncio
import os
import shlex
import signal
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

from incident_devstack import stack as devstack
from incident_devstack.paths import StackPaths
from incident_devstack.postgres_home import recorded_home
from incident_devstack.processes import children_of, process_matches, processes_in
from incident_devstack.state import load_state, locked_state

# What identifies each component's process in its command line (as the devstack checks it).
SERVICES = ("intake", "router", "sla", "notifier")
UP_TIMEOUT_S = 300.0


class StackFault(RuntimeError):
    """The stack could not be brought up, or a fault could not be injected."""


@dataclass(frozen=True)
class Found:
    """What ran before the suite, so that it can leave the stack as it found it."""

    running: frozenset[str]
    test_owned: tuple[str, ...]


class LocalStack:
    def __init__(self, paths: StackPaths) -> None:
        self.paths = paths

    def running(self) -> set[str]:
        return {name for name, running, _ in devstack.status(self.paths) if running}

    async def up(self) -> float:
        """`python -m incident_devstack up`, which starts whatever is down; returns its seconds.

        A subprocess, so the load goes on meanwhile, and the services it starts are not this
        process's children (a kill -9 of one leaves no zombie here).
        """
        began = time.monotonic()
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "incident_devstack",
            "up",
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        try:
            output, _ = await asyncio.wait_for(process.communicate(), UP_TIMEOUT_S)
        except TimeoutError:
            process.kill()
            raise StackFault(f"`incident_devstack up` took over {UP_TIMEOUT_S:.0f}s") from None
        if process.returncode != 0:
            raise StackFault(f"`incident_devstack up` failed:\n{output.decode(errors='replace')}")
        return time.monotonic() - began

    def env(self) -> dict[str, str]:
        """URLs, API key, broker and mail directory from stack.env (written by `up`)."""
        lines = self.paths.env_file.read_text().splitlines()
        pairs = (line.split("=", 1) for line in lines if "=" in line)
        return {key: shlex.split(value)[0] if value else "" for key, value in pairs}

    def kill(self, component: str) -> None:
        """kill -9 of a service, Kafka or the SMTP sink, with whatever it forked."""
        state = load_state(self.paths)
        pid = state.pids.get(component)
        if pid is None or not process_matches(pid, self._needle(component)):
            raise StackFault(f"{component} is not running; nothing to kill")
        # Started in a session of its own, so its group holds its forked workers too.
        if os.getpgid(pid) == pid:
            os.killpg(pid, signal.SIGKILL)
        else:
            os.kill(pid, signal.SIGKILL)

    def workers(self, service: str) -> list[int]:
        """The worker processes a service runs beneath its parent (`<SERVICE>_PROCESSES` above
        one), oldest first; none when it serves in a single process."""
        pid = load_state(self.paths).pids.get(service)
        if pid is None or not process_matches(pid, self._needle(service)):
            return []
        return sorted(children_of(pid))

    def restart_with_workers(self, service: str, count: int) -> None:
        """Stop the service if it runs another number of workers than `count`, so that the next
        `up` starts it with `<SERVICE>_PROCESSES`, which the caller has set."""
        if service in self.running() and len(self.workers(service)) != count:
            with locked_state(self.paths) as state:
                devstack.stop_components(self.paths, state, [service])

    def _needle(self, component: str) -> str:
        if component in SERVICES:
            return f"-m {component} serve"
        return {
            "kafka": str(self.paths.kafka / "server.properties"),
            "smtp": str(self.paths.mail),
        }[component]

    def postgres_pids(self) -> list[int]:
        """The postmaster and every process it forked: their working directory is the data dir."""
        return processes_in(self._postgres_data(), "postgres")

    def kill_postgres(self) -> None:
        """kill -9 of every process of the stack's cluster, as a power cut would end them."""
        pids = self.postgres_pids()
        if not pids:
            raise StackFault("PostgreSQL is not running; nothing to kill")
        for _ in range(10):  # the postmaster may fork a backend between the listing and the kill
            for pid in pids:
                with suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            time.sleep(0.1)
            if not (pids := self.postgres_pids()):
                return
        raise StackFault(f"PostgreSQL processes {pids} survived kill -9")

    @contextmanager
    def postgres_frozen(self) -> Iterator[list[int]]:
        """SIGSTOP the cluster inside the block (a hung server: connections open, no answers)."""
        postmaster = self._postmaster_pid()
        os.kill(postmaster, signal.SIGSTOP)  # first: a stopped postmaster forks no new backend
        frozen = [postmaster, *(pid for pid in self.postgres_pids() if pid != postmaster)]
        try:
            for pid in frozen[1:]:
                with suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGSTOP)
            yield frozen
        finally:
            for pid in frozen:
                with suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGCONT)

    def _postgres_data(self) -> Path:
        return recorded_home(self.paths, load_state(self.paths)) / "data"

    def _postmaster_pid(self) -> int:
        data = self._postgres_data()
        try:
            pid = int((data / "postmaster.pid").read_text().split("\n", 1)[0])
        except (OSError, ValueError):
            raise StackFault(f"no postmaster.pid in {data}: PostgreSQL is not running") from None
        if pid not in self.postgres_pids():
            raise StackFault(f"pid {pid} of {data}/postmaster.pid is not this cluster's postmaster")
        return pid

    def found(self) -> Found:
        return Found(frozenset(self.running()), tuple(load_state(self.paths).test_owned))

    def restore(self, found: Found) -> None:
        """Stop what the suite started, and give test sessions back what they owned (`up` takes
        it over), so a pytest session still stops its own servers at its end."""
        with locked_state(self.paths) as state:
            started = [name for name in self.running() if name not in found.running]
            devstack.stop_components(self.paths, state, started)
            state.test_owned = [name for name in found.test_owned if name not in started]
