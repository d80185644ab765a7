"""A service in two worker processes, as real processes on the test infra: a worker whose
background task has ended stops by itself, and its parent starts a fresh one, where /healthz
would have failed only for the probes that happened to reach that worker."""

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from harness import wait_for
from incident_devstack.processes import children_of, free_port
from incident_devstack.pytest_plugin import Infra
from incident_kit.database import create_engine, service_metadata
from incident_kit.inbox import inbox_table
from incident_kit.outbox import outbox_table
from integration.kit.support import create_tables

pytestmark = pytest.mark.integration
metadata = service_metadata("kitworker")
outbox_table(metadata)
inbox_table(metadata)

# A kit service whose one background loop ends once a file named after its worker's pid exists.
SERVICE = """
import asyncio, os, sys
from pathlib import Path
from incident_kit.cli import main
from incident_kit.database import service_metadata
from incident_kit.inbox import inbox_table
from incident_kit.outbox import outbox_table
from incident_kit.service import build_app, build_runtime
from incident_kit.settings import ServiceSettings

metadata = service_metadata("kitworker")
outbox, inbox = outbox_table(metadata), inbox_table(metadata)
triggers = Path(sys.argv[1])

def create_app(settings, clock):
    runtime = build_runtime("kitworker", settings, clock, outbox=outbox, inbox=inbox)

    async def ends_when_told():
        trigger = triggers / str(os.getpid())
        while not trigger.exists():
            await asyncio.sleep(0.05)

    runtime.background.append(ends_when_told)
    return build_app(runtime, title="kitworker", description="", routers=[])

main(service="kitworker", settings_class=ServiceSettings, create_app=create_app,
     migrations_dir=Path("."), argv=["serve"])
"""


def ready(url: str) -> bool:
    try:
        return httpx.get(f"{url}/readyz").status_code == 200
    except httpx.HTTPError:
        return False


@pytest.fixture
async def tables(fresh_database_url: str) -> None:
    engine = create_engine(fresh_database_url)
    await create_tables(engine, metadata)
    await engine.dispose()


@pytest.fixture
def two_workers(
    infra: Infra,
    fresh_database_url: str,
    kafka_topic_prefix: str,
    tables: None,
    tmp_path: Path,
) -> Iterator[tuple[subprocess.Popen[bytes], str, Path, Path]]:
    port, triggers, log = free_port(), tmp_path / "triggers", tmp_path / "service.log"
    triggers.mkdir()
    script = tmp_path / "kitworker.py"
    script.write_text(SERVICE)
    env = {
        **os.environ,
        "KAFKA_BOOTSTRAP_SERVERS": infra.kafka_bootstrap_servers,
        "DATABASE_URL": fresh_database_url,
        "KAFKA_TOPIC_PREFIX": kafka_topic_prefix,
        "HTTP_PORT": str(port),
        "PROCESSES": "2",
    }
    process = subprocess.Popen(
        [sys.executable, str(script), str(triggers)],
        env=env,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for(
            lambda: len(children_of(process.pid)) == 2 and ready(url),
            what=f"two ready workers:\n{log.read_text()[-3000:]}" if log.exists() else "",
        )
        yield process, url, triggers, log
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=30)


def test_a_worker_whose_task_ended_is_replaced(
    two_workers: tuple[subprocess.Popen[bytes], str, Path, Path],
) -> None:
    process, url, triggers, log = two_workers
    workers = children_of(process.pid)
    failing = min(workers)

    (triggers / str(failing)).touch()  # its background loop returns: its liveness fails

    def replaced() -> set[int] | None:
        now = children_of(process.pid)
        return now if len(now) == 2 and failing not in now else None

    fresh = wait_for(replaced, what=f"the failing worker replaced:\n{log.read_text()[-3000:]}")
    assert workers - {failing} <= fresh  # the healthy worker served on
    wait_for(lambda: ready(url), what="ready again")
    assert "this worker stops for its parent to start a fresh one" in log.read_text()
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=30) == 0
