"""Serving in several processes (`<SERVICE>_PROCESSES`), with real processes and signals: a
burst of connections is spread over the workers, a worker that dies is replaced while the port
keeps answering, SIGTERM stops them all, and so does the parent's death by SIGKILL."""

import asyncio
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from harness import wait_for
from incident_devstack.processes import children_of, free_port, process_running

# A server as the services are served (uvloop, uvicorn, the kit's workers) answering its pid.
SERVER = """
import sys
import uvicorn, uvloop
from incident_kit.cli import serve_in_processes

async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    import os
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": str(os.getpid()).encode()})

async def serve(listener):
    config = uvicorn.Config(app, log_config=None, access_log=False, lifespan="off")
    await uvicorn.Server(config).serve(sockets=[listener])

serve_in_processes("127.0.0.1", int(sys.argv[1]), 2, lambda s: uvloop.run(serve(s)))
"""


def answering_pid(port: int) -> int | None:
    try:
        return int(httpx.get(f"http://127.0.0.1:{port}/", timeout=2).text)
    except httpx.HTTPError:
        return None


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[bytes], int]]:
    script = tmp_path / "pid_server.py"
    script.write_text(SERVER)
    port = free_port()
    process = subprocess.Popen([sys.executable, str(script), str(port)])
    try:
        wait_for(
            lambda: len(children_of(process.pid)) == 2 and answering_pid(port),
            what="two workers answering",
        )
        yield process, port
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_a_burst_of_connections_is_spread_over_the_workers(
    server: tuple[subprocess.Popen[bytes], int],
) -> None:
    process, port = server

    async def burst() -> list[int]:
        # 32 connections opened at once, as a load generator's are, each asking its worker.
        async def ask() -> int:
            async with httpx.AsyncClient() as client:
                return int((await client.get(f"http://127.0.0.1:{port}/")).text)

        return await asyncio.gather(*(ask() for _ in range(32)))

    pids = asyncio.run(burst())

    # Spread by the kernel (SO_REUSEPORT), each worker takes about half; on one shared socket the
    # first to wake took the whole burst.
    assert set(pids) == children_of(process.pid)
    assert min(pids.count(pid) for pid in set(pids)) >= 4, sorted(pids)


def test_a_worker_killed_is_replaced_and_the_port_keeps_answering(
    server: tuple[subprocess.Popen[bytes], int],
) -> None:
    process, port = server
    workers = children_of(process.pid)
    killed = min(workers)

    os.kill(killed, signal.SIGKILL)

    def two_without_the_killed() -> set[int] | None:
        now = children_of(process.pid)
        return now if len(now) == 2 and killed not in now else None

    replaced = wait_for(two_without_the_killed, what="the killed worker replaced")
    assert replaced - workers, "a new worker took the dead one's place"
    assert answering_pid(port) in replaced
    assert process.poll() is None


def test_sigterm_stops_every_worker_and_the_parent_exits_cleanly(
    server: tuple[subprocess.Popen[bytes], int],
) -> None:
    process, _ = server
    workers = children_of(process.pid)

    process.send_signal(signal.SIGTERM)

    assert process.wait(timeout=30) == 0
    assert not any(Path(f"/proc/{pid}").exists() for pid in workers)


def test_workers_stop_when_their_parent_is_killed(
    server: tuple[subprocess.Popen[bytes], int],
) -> None:
    process, port = server
    workers = children_of(process.pid)

    process.kill()  # SIGKILL: the parent forwards nothing
    process.wait()

    wait_for(
        lambda: not any(process_running(pid) for pid in workers), what="the orphaned workers gone"
    )
    assert answering_pid(port) is None  # nothing left serving on the port
