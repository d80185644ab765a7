"""The command line of every service: `python -m <service> migrate|serve`.

`serve` runs `<SERVICE>_PROCESSES` copies of the service on one listening socket (bound once,
then inherited by forked workers). Each worker is a full replica: it answers HTTP, is a member
of the service's consumer groups, and stands by to lead the outbox relay. The parent forwards
SIGTERM and SIGINT to the workers and exits when they have all stopped.
"""

import argparse
import os
import signal
import socket
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import uvicorn
import uvloop
from fastapi import FastAPI

from incident_kit.clock import Clock, SystemClock
from incident_kit.migrations import upgrade
from incident_kit.settings import ServiceSettings, load_settings

S = TypeVar("S", bound=ServiceSettings)


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
    serve_in_processes(
        settings.http_host,
        settings.http_port,
        settings.processes,
        lambda listener: _serve_on(listener, settings, create_app),
    )


def serve_in_processes(
    host: str, port: int, processes: int, serve: Callable[[socket.socket], None]
) -> None:
    """Run `serve` on one listening socket: in this process, or in `processes` forked workers
    that share it (the parent then waits for them and exits with their verdict)."""
    listener = _listen(host, port)
    if processes == 1:
        serve(listener)
        return
    workers = [_fork(listener, serve) for _ in range(processes)]
    listener.close()
    sys.exit(_supervise(workers))


def _listen(host: str, port: int) -> socket.socket:
    listener = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind((host, port))
    listener.listen(2048)
    listener.set_inheritable(True)
    return listener


def _fork(listener: socket.socket, serve: Callable[[socket.socket], None]) -> int:
    pid = os.fork()
    if pid == 0:  # the worker: serve until told to stop, then leave without the parent's cleanup
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the parent, which stops us
        code = 0
        try:
            serve(listener)
        except BaseException:
            code = 1
        os._exit(code)
    return pid


def _supervise(workers: list[int]) -> int:
    """Forward stop signals to the workers; return non-zero if any of them failed."""

    def forward(signum: int, _: object) -> None:
        for pid in workers:
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass

    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, forward)
    failed = 0
    for pid in workers:
        _, status = os.waitpid(pid, 0)
        failed |= os.waitstatus_to_exitcode(status) != 0
    return int(failed)


def _serve_on(
    listener: socket.socket, settings: S, create_app: Callable[[S, Clock], FastAPI]
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
