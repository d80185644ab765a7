"""Intake served by two worker processes (`INTAKE_PROCESSES=2`), as a real process on the test
infra: reports land on either worker, and /metrics, whichever worker answers a scrape, counts
the work of both (prometheus_client's multiprocess mode), so a scrape never shows one worker's
counters alone."""

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from uuid import uuid4

import httpx
import pytest
from harness import wait_for
from incident_devstack.processes import children_of, free_port
from incident_devstack.pytest_plugin import Infra

pytestmark = pytest.mark.integration
API_KEY = "worker-processes-key"
REPORTS = 20


@pytest.fixture
def two_process_intake(
    infra: Infra, fresh_database_url: str, kafka_topic_prefix: str, tmp_path: Path
) -> Iterator[tuple[str, int]]:
    port = free_port()
    env = {
        **os.environ,
        "KAFKA_BOOTSTRAP_SERVERS": infra.kafka_bootstrap_servers,
        "DATABASE_URL": fresh_database_url,
        "KAFKA_TOPIC_PREFIX": kafka_topic_prefix,
        "API_KEYS": API_KEY,
        "INTAKE_HTTP_PORT": str(port),
        "INTAKE_PROCESSES": "2",
    }
    env.pop("INTAKE_SMTP_PORT", None)
    subprocess.run([sys.executable, "-m", "intake", "migrate"], env=env, check=True)
    log = tmp_path / "intake.log"
    process = subprocess.Popen(
        [sys.executable, "-m", "intake", "serve"],
        env=env,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        # Both workers up and ready: a /readyz on a new connection reaches either of them.
        def both_ready() -> bool:
            assert process.poll() is None, log.read_text()[-3000:]
            return len(children_of(process.pid)) == 2 and _ready_every_time(url)

        wait_for(both_ready, what="two ready workers", timeout=120)
        yield url, process.pid
    finally:
        process.terminate()
        process.wait(timeout=30)


def _ready_every_time(url: str) -> bool:
    try:
        return all(httpx.get(f"{url}/readyz").status_code == 200 for _ in range(10))
    except httpx.HTTPError:
        return False


def reported_total(url: str) -> float:
    # A new connection each time: the kernel hands it to either worker.
    text = httpx.get(f"{url}/metrics").text
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith("incidents_reported_total{")
    )


def test_every_scrape_counts_the_reports_of_both_workers(
    two_process_intake: tuple[str, int],
) -> None:
    url, _ = two_process_intake
    for i in range(REPORTS):  # each on a new connection, so both workers take some
        answer = httpx.post(
            f"{url}/v1/incidents",
            json={
                "title": f"Worker test {i}",
                "severity": "low",
                "customer": {"email": f"w{i}-{uuid4().hex[:6]}@example.com"},
            },
            headers={"Authorization": f"Bearer {API_KEY}"},
        )
        assert answer.status_code == 201, answer.text

    assert [reported_total(url) for _ in range(10)] == [REPORTS] * 10
