"""The four services as real processes on the test infra, isolated by a topic prefix and a
fresh database, with a real SMTP server (aiosmtpd) receiving their e-mail."""

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from uuid import uuid4

import httpx
import pytest
from incident_devstack.pytest_plugin import Infra
from incident_devstack.smtp_sink import SmtpSink

SERVICES = ("intake", "router", "sla", "notifier")


@dataclass(frozen=True)
class System:
    urls: dict[str, str]
    api_key: str
    topic_prefix: str
    mail: SmtpSink
    logs: Path


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_ready(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    """Poll /readyz until 200; fail at once with the log if the process died."""
    deadline = time.monotonic() + 120
    with httpx.Client(timeout=2.0) as client:
        while time.monotonic() < deadline:
            try:
                if client.get(f"{url}/readyz").status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            try:
                process.wait(timeout=0.2)  # the poll interval, cut short if the process dies
            except subprocess.TimeoutExpired:
                continue
            raise AssertionError(f"{url} exited:\n{log.read_text()[-3000:]}")
    raise AssertionError(f"{url} not ready:\n{log.read_text()[-3000:]}")


@pytest.fixture(scope="module")
def system(infra: Infra, tmp_path_factory: pytest.TempPathFactory) -> Iterator[System]:
    from incident_devstack.postgres import create_database, drop_database
    from incident_devstack.topics import delete_topics

    run = uuid4().hex[:10]
    database = f"e2e_{run}"
    logs = tmp_path_factory.mktemp("e2e-logs")
    sink = SmtpSink(directory=tmp_path_factory.mktemp("mail"), port=free_port())
    sink.start()
    ports = {name: free_port() for name in SERVICES}
    env = {
        **os.environ,
        "KAFKA_BOOTSTRAP_SERVERS": infra.kafka_bootstrap_servers,
        "DATABASE_URL": create_database(database, database_url=infra.database_url),
        "KAFKA_TOPIC_PREFIX": f"e2e-{run}-",
        "API_KEYS": f"key-{run}",
        "NOTIFIER_SMTP_HOST": "127.0.0.1",
        "NOTIFIER_SMTP_PORT": str(sink.port),
        "NOTIFIER_PUBLIC_URL": f"http://127.0.0.1:{ports['notifier']}",
        "SLA_TICK_SECONDS": "0.2",
        **{f"{name.upper()}_HTTP_PORT": str(port) for name, port in ports.items()},
    }
    processes = []
    try:
        for name in SERVICES:
            subprocess.run([sys.executable, "-m", name, "migrate"], env=env, check=True)
        for name in SERVICES:
            log = logs / f"{name}.log"
            process = subprocess.Popen(
                [sys.executable, "-m", name, "serve"],
                env=env,
                stdout=log.open("wb"),
                stderr=subprocess.STDOUT,
            )
            processes.append((process, log))
        urls = {name: f"http://127.0.0.1:{port}" for name, port in ports.items()}
        for (process, log), name in zip(processes, SERVICES, strict=True):
            wait_ready(urls[name], process, log)
        yield System(urls, f"key-{run}", f"e2e-{run}-", sink, logs)
    finally:
        for process, _ in processes:
            process.terminate()
        for process, _ in processes:
            process.wait(timeout=30)
        sink.stop()
        drop_database(database, database_url=infra.database_url)
        delete_topics(infra.kafka_bootstrap_servers, f"e2e-{run}-")


async def put_agent_olga(system: System, http: httpx.AsyncClient) -> None:
    """The one agent of the e2e tests: payments, Czech and English, tier 2, room for three."""
    agent = await http.put(
        f"{system.urls['router']}/v1/agents/olga",
        json={
            "name": "Olga Dvořák",
            "skills": {"payments": 4},
            "languages": ["cs", "en"],
            "tier": 2,
            "capacity": 3,
            "presence": "online",
        },
    )
    assert agent.status_code in (200, 201), agent.text


async def put_policy(
    system: System,
    http: httpx.AsyncClient,
    policy_id: str,
    *,
    name: str,
    first_response: str,
    resolution: str,
    warn_at_percent: int,
) -> None:
    """A 24x7 policy matching every incident, with these targets (ISO 8601 durations)."""
    policy = await http.put(
        f"{system.urls['sla']}/v1/policies/{policy_id}",
        json={
            "name": name,
            "priority": 1,
            "match": {"tiers": [], "severities": [], "kinds": []},
            "targets": {"first_response": first_response, "resolution": resolution},
            "warn_at_percent": [warn_at_percent],
            "calendar": "24x7",
        },
    )
    assert policy.status_code in (200, 201), policy.text
