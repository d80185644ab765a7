"""Background processes of the stack: free ports, detached start, liveness, waiting, stopping."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

POLL_INTERVAL_S = 0.1

# Children this process started, kept so they are reaped (no zombies, no
# ResourceWarning from a collected Popen) and so liveness sees their exit.
_children: dict[int, subprocess.Popen[bytes]] = {}


class StackError(RuntimeError):
    """A component of the stack could not be started, reached or stopped."""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def pid_alive(pid: int) -> bool:
    child = _children.get(pid)
    if child is not None:
        return child.poll() is None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def process_matches(pid: int, needle: str) -> bool:
    """Whether `pid` is alive and its command line contains `needle` (guards against pid reuse)."""
    if not pid_alive(pid):
        return False
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return False
    return needle in cmdline


def _proc_link(pid: int, name: str) -> Path | None:
    try:
        return Path(os.readlink(f"/proc/{pid}/{name}"))
    except OSError:
        return None  # gone, or not ours to see


def process_cwd(pid: int) -> Path | None:
    return _proc_link(pid, "cwd")


def processes_in(directory: Path, program: str) -> list[int]:
    """Pids of `program` (by executable name) whose working directory is `directory`."""
    target = directory.resolve()
    pids = [int(entry.name) for entry in Path("/proc").iterdir() if entry.name.isdigit()]
    return [
        pid
        for pid in pids
        if process_cwd(pid) == target and getattr(_proc_link(pid, "exe"), "name", "") == program
    ]


def children_of(parent: int) -> set[int]:
    """Live (not zombie) processes whose parent is `parent`: a server's forked workers."""
    children = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        found = _state_and_parent(int(entry.name))
        if found is not None and found[1] == parent and found[0] != "Z":
            children.add(int(entry.name))
    return children


def process_running(pid: int) -> bool:
    """The process exists and has not ended: one that ended but is not yet reaped (a zombie,
    such as an orphan whose new parent has not waited for it) is not running."""
    found = _state_and_parent(pid)
    return found is not None and found[0] not in {"Z", "X"}


def _state_and_parent(pid: int) -> tuple[str, int] | None:
    """The process's state letter and parent pid, from /proc; None if it is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:  # exited meanwhile
        return None
    state, ppid = stat[stat.rindex(")") + 2 :].split()[:2]
    return state, int(ppid)


def spawn_detached(
    argv: Sequence[str], *, log: Path, env: Mapping[str, str] | None = None, cwd: Path | None = None
) -> int:
    """Start `argv` in its own session (Ctrl-C in the caller's terminal does not reach it)."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("ab") as out:
        child = subprocess.Popen(
            list(argv),
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            env=dict(env) if env is not None else None,
            cwd=cwd,
            start_new_session=True,
        )
    _children[child.pid] = child
    return child.pid


def terminate(pid: int, *, timeout: float = 30.0) -> None:
    """SIGTERM, wait up to `timeout` seconds, then SIGKILL."""
    if not pid_alive(pid):
        return
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + timeout
    while pid_alive(pid) and time.monotonic() < deadline:
        time.sleep(POLL_INTERVAL_S)
    if pid_alive(pid):
        os.kill(pid, signal.SIGKILL)
        wait_until(lambda: not pid_alive(pid), timeout=10, what=f"pid {pid} to die after SIGKILL")


def wait_until(
    condition: Callable[[], bool],
    *,
    timeout: float,
    what: str,
    diagnose: Callable[[], str] | None = None,
) -> None:
    """Poll `condition` until it holds; past the deadline raise with `diagnose()` attached."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() >= deadline:
            detail = f"\n{diagnose()}" if diagnose is not None else ""
            raise StackError(f"timed out after {timeout:.0f}s waiting for {what}{detail}")
        time.sleep(POLL_INTERVAL_S)


def log_tail(path: Path, lines: int = 40) -> str:
    if not path.exists():
        return f"(no log at {path})"
    text = path.read_text(errors="replace").splitlines()[-lines:]
    return f"--- last {len(text)} lines of {path} ---\n" + "\n".join(text)
