"""A real Prometheus Alertmanager (Debian's prometheus-alertmanager) for a test: its webhook
receiver posts to a URL with a Bearer key, grouping fast (group_wait 1s); alerts are posted to
its API as Prometheus would post them."""

import asyncio
import contextlib
import shutil
import socket
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from harness import eventually

BINARY = "prometheus-alertmanager"
CONFIG = """
route:
  receiver: intake
  group_by: [alertname]
  group_wait: 1s
  group_interval: 1s
  repeat_interval: 1h
receivers:
  - name: intake
    webhook_configs:
      - url: {url}
        send_resolved: true
        http_config:
          authorization:
            type: Bearer
            credentials: {key}
"""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class Alertmanager:
    def __init__(self, url: str) -> None:
        self.url = url

    async def post_alert(
        self, labels: dict[str, str], annotations: dict[str, str], starts: datetime, ends: datetime
    ) -> None:
        """Post (or update) one alert; an `ends` in the past resolves it."""
        alert: dict[str, Any] = {
            "labels": labels,
            "annotations": annotations,
            "startsAt": starts.isoformat(),
            "endsAt": ends.isoformat(),
            "generatorURL": "http://prometheus.test/graph",
        }
        async with httpx.AsyncClient() as client:
            response = await client.post(f"{self.url}/api/v2/alerts", json=[alert])
        assert response.status_code == 200, response.text


@contextlib.asynccontextmanager
async def alertmanager(
    webhook_url: str, api_key: str, workdir: Path
) -> AsyncIterator[Alertmanager]:
    binary = shutil.which(BINARY) or shutil.which("alertmanager")
    if binary is None:
        pytest.fail(f"{BINARY} is not installed: apt-get install {BINARY} (make test does)")
    config = workdir / "alertmanager.yml"
    config.write_text(CONFIG.format(url=webhook_url, key=api_key))
    port = free_port()
    log = (workdir / "alertmanager.log").open("wb")
    process = await asyncio.create_subprocess_exec(
        binary,
        f"--config.file={config}",
        f"--storage.path={workdir / 'data'}",
        f"--web.listen-address=127.0.0.1:{port}",
        "--cluster.listen-address=",  # no gossip: one instance, no port 9094
        "--log.level=debug",
        stdout=log,
        stderr=log,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        await eventually(lambda: _ready(url, process), timeout=30, every=0.2)
        yield Alertmanager(url)
    finally:
        if process.returncode is None:
            process.terminate()
            await process.wait()
        log.close()


async def _ready(url: str, process: asyncio.subprocess.Process) -> bool:
    if process.returncode is not None:
        raise AssertionError(f"alertmanager exited with {process.returncode}; see its log")
    try:
        async with httpx.AsyncClient() as client:
            return (await client.get(f"{url}/-/ready", timeout=1)).status_code == 200
    except httpx.HTTPError:
        return False
