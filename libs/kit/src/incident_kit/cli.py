"""The command line of every service: `python -m <service> migrate|serve`.

`serve` runs `<SERVICE>_PROCESSES` copies of the service on one port (forked workers, each
listening on a socket of its own bound with SO_REUSEPORT, so the kernel spreads connections
over them). Each worker is a full replica: it answers HTTP, is a member
of the service's consumer groups, and stands by to lead the outbox relay. The parent replaces a
worker that dies, forwards SIGTERM and SIGINT to the workers and exits when they have all
stopped. `serve_in_processes` is that, for any server (the benchmark's echo app uses it too).
"""

import argparse
import contextlib
import ctypes
import logging
import os
import signal
import socket
import sys
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import TypeVar

import uvicorn
import uvloop
from fastapi import FastAPI

from incident_kit.clock import Clock, SystemClock
from incident_kit.metrics import forget_worker, share_between_processes
from incident_kit.migrations import upgrade
from incident_kit.settings import ServiceSettings, load_settings

S = TypeVar("S", bound=ServiceSettings)
log = logging.getLogger(__name__)
# A worker that served this long before it died is replaced at once.
HEALTHY_SECONDS = 30.0
# Set in each forked worker: it then leaves when its liveness fails (incident_kit.service).
SUPERVISED_WORKER = "INCIDENT_KIT_SUPERVISED_WORKER"
PR_SET_PDEATHSIG = 1  # linux/prctl.h


def main(
    *,
    service: str,
    settings_class: type[S],
    create_app: Callable[[S, Clock], FastAPI],
    migrations_dir: Path,
    argv: list[str] | None = None,
) -> None:
    parser = argparse.ArgumentParser(prog=f"python -m {service}")
    parser.add_argument("command", choices=["migrate", "serve"])
    arguments = parser.parse_args(argv)
    settings = load_settings(settings_class)
    if arguments.command == "migrate":
        upgrade(settings.database_url, migrations_dir)
        return
    serve = partial(_serve_on, settings=settings, create_app=create_app)
    if settings.processes == 1:
        serve_in_processes(settings.http_host, settings.http_port, 1, serve)
        return
    with tempfile.TemporaryDirectory(prefix=f"{service}-metrics-") as directory:
        share_between_processes(Path(directory))
        serve_in_processes(
            settings.http_host,
            settings.http_port,
            settings.processes,
            serve,
            on_worker_end=forget_worker,
        )


def serve_in_processes(
    host: str,
    port: int,
    processes: int,
    serve: Callable[[socket.socket], None],
    *,
    on_worker_end: Callable[[int], None] = lambda pid: None,
) -> None:
    """Run `serve` on one listening socket: in this process, or in `processes` forked workers
    that share it, each started again if it ends before the parent is told to stop (the parent
    then exits with their verdict). `on_worker_end(pid)` runs in the parent as each ends."""
    if processes == 1:
        serve(_listen(host, port, reuse_port=False))
        return
    # Each worker listens on a socket of its own, all bound to the port with SO_REUSEPORT, and
    # the kernel spreads new connections over them. On one shared socket the worker that woke
    # first accepted a whole burst: wrk's 32 connections often all went to one of two workers,
    # and intake alone served 800/s in such runs against 1,150/s when they were spread.
    # The parent binds the port too, without listening, so that it is taken from the start. (A
    # second copy started on the same port in several processes would share it, not fail.)
    reserved = _bind(host, port, reuse_port=True)
    listen = partial(_listen, host, port, reuse_port=True)
    code = _Supervisor(listen, serve, processes, on_worker_end).run()
    reserved.close()
    if code:
        raise SystemExit(code)


def _bind(host: str, port: int, *, reuse_port: bool) -> socket.socket:
    bound = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
    bound.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if reuse_port:
        bound.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    bound.bind((host, port))
    return bound


def _listen(host: str, port: int, *, reuse_port: bool) -> socket.socket:
    listener = _bind(host, port, reuse_port=reuse_port)
    listener.listen(2048)
    return listener


class _Supervisor:
    """Keeps `processes` workers serving until SIGTERM or SIGINT, which it forwards to them.

    A worker that dies (a crash, the kernel's OOM killer, kill -9) is replaced, as gunicorn and
    uvicorn's own supervisor do: otherwise the port stays open on the survivors, every probe
    still passes, and the service runs on fewer cores with nobody told. Each replacement waits
    a pause that doubles while workers keep dying young, so one that cannot start does not spin.
    """

    def __init__(
        self,
        listen: Callable[[], socket.socket],
        serve: Callable[[socket.socket], None],
        processes: int,
        on_worker_end: Callable[[int], None],
    ) -> None:
        self._listen = listen
        self._serve = serve
        self._processes = processes
        self._on_worker_end = on_worker_end
        self._workers: dict[int, float] = {}  # pid -> when it started (monotonic)
        self._stopping = False
        self._pause = 0.0

    def run(self) -> int:
        """Return non-zero if a worker failed while stopping."""
        signal.signal(signal.SIGTERM, self._stop)
        signal.signal(signal.SIGINT, self._stop)
        for _ in range(self._processes):
            self._start()
        failed = False
        while self._workers:
            pid, status = os.wait()  # retried after a signal's handler has run (PEP 475)
            started = self._workers.pop(pid, None)
            if started is None:
                continue
            self._on_worker_end(pid)
            code = os.waitstatus_to_exitcode(status)
            if self._stopping:
                # uvicorn raises the SIGTERM again once it has shut down gracefully.
                failed |= code not in (0, -signal.SIGTERM)
                continue
            lived = time.monotonic() - started
            self._pause = 0.0 if lived >= HEALTHY_SECONDS else min(max(2 * self._pause, 1), 30)
            log.error(
                "worker %d ended (exit code %d) after %.0f s; starting another in %.0f s",
                pid,
                code,
                lived,
                self._pause,
            )
            self._wait(self._pause)
            if not self._stopping:
                self._start()
        return int(failed)

    def _start(self) -> None:
        parent = os.getpid()
        pid = os.fork()
        if pid == 0:  # the worker: serve until told to stop, then leave without our cleanup
            signal.signal(signal.SIGTERM, signal.SIG_DFL)  # the server installs its own
            signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the parent
            _stop_with(parent)
            os.environ[SUPERVISED_WORKER] = "1"
            code = 0
            try:
                self._serve(self._listen())
            except BaseException:
                code = 1
            os._exit(code)
        self._workers[pid] = time.monotonic()
        if self._stopping:  # the stop signal came between the fork and the line above
            os.kill(pid, signal.SIGTERM)

    def _stop(self, signum: int, _: object) -> None:
        self._stopping = True
        for pid in self._workers:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)

    def _wait(self, seconds: float) -> None:
        """Sleep, cut short by a stop signal."""
        deadline = time.monotonic() + seconds
        while not self._stopping and time.monotonic() < deadline:
            time.sleep(0.1)


def _stop_with(parent: int) -> None:
    """In a worker: be sent SIGTERM (a graceful stop) when the parent ends, however it ends.
    A parent killed with SIGKILL forwards nothing, and its workers would serve on, on their
    SO_REUSEPORT sockets, sharing the port with whatever is started in its place."""
    if sys.platform != "linux":
        return
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0) != 0:
        log.warning("this worker will not stop with its parent: prctl failed")
    if os.getppid() != parent:  # the parent ended before the line above
        os._exit(0)


def _serve_on(
    listener: socket.socket, *, settings: S, create_app: Callable[[S, Clock], FastAPI]
) -> None:
    # uvloop: the faster event loop uvicorn would pick itself.
    uvloop.run(_serve(listener, settings, create_app))


async def _serve(
    listener: socket.socket, settings: S, create_app: Callable[[S, Clock], FastAPI]
) -> None:
    # The app is built inside the event loop: the Kafka clients need a running loop.
    app = create_app(settings, SystemClock())
    config = uvicorn.Config(app, log_config=None, timeout_graceful_shutdown=20, access_log=False)
    await uvicorn.Server(config).serve(sockets=[listener])
