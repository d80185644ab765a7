"""The service launcher against a tiny stand-in service: migrate, serve, readiness, seed, stop."""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path

import pytest
from incident_devstack.paths import StackPaths
from incident_devstack.processes import StackError, pid_alive
from incident_devstack.services import (
    reclaim_ports,
    seed_demo,
    service_environment,
    service_running,
    start_services,
    stop_service,
)
from incident_devstack.state import StackState

# Follows the services' contract: `migrate` exits, `serve` answers /readyz on
# FAKESVC_HTTP_PORT (503 while the file FAKESVC_UNREADY exists, as when Kafka or
# PostgreSQL restarts); PUT needs the demo key, POST always answers a problem.
FAKE_SERVICE = """
import http.server, os, pathlib, sys

if sys.argv[1] == "migrate":
    pathlib.Path(os.environ["FAKESVC_MIGRATED"]).write_text(os.environ["DATABASE_URL"])
    sys.exit(0)

class Handler(http.server.BaseHTTPRequestHandler):
    def answer(self, status, body=b""):
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        unready = os.path.exists(os.environ["FAKESVC_UNREADY"])
        self.answer(404 if self.path != "/readyz" else 503 if unready else 200)

    def do_PUT(self):
        self.rfile.read(int(self.headers["Content-Length"]))
        keys = os.environ["INTAKE_API_KEYS"].split(",")
        self.answer(204 if self.headers["Authorization"] in [f"Bearer {k}" for k in keys] else 401)

    def do_POST(self):
        self.answer(422, b'{"detail": "severity: field required"}')

port = int(os.environ["FAKESVC_HTTP_PORT"])
http.server.HTTPServer(("127.0.0.1", port), Handler).serve_forever()
"""


@pytest.fixture
def fake_service(tmp_path: Path) -> Path:
    package = tmp_path / "code" / "fakesvc"
    package.mkdir(parents=True)
    (package / "__init__.py").touch()
    (package / "__main__.py").write_text(FAKE_SERVICE)
    return tmp_path


def _environment(state: StackState, root: Path) -> dict[str, str]:
    base = {**os.environ, "PYTHONPATH": str(root / "code"), "FAKESVC_MIGRATED": str(root / "m")}
    base["FAKESVC_UNREADY"] = str(root / "unready")
    return service_environment(
        state,
        base,
        names=["fakesvc"],
        kafka_bootstrap_servers="127.0.0.1:1",
        database_url="postgresql+asyncpg://postgres@127.0.0.1:2/incidents",
        smtp_port=3,
    )


def _seed(root: Path, requests: Sequence[Mapping[str, object]]) -> Path:
    seed_file = root / "seed.json"
    seed_file.write_text(json.dumps(requests))
    return seed_file


def test_a_service_is_migrated_started_reused_seeded_and_stopped(fake_service: Path) -> None:
    paths, state = StackPaths(fake_service / "stack"), StackState()
    env = _environment(state, fake_service)
    try:
        assert start_services(paths, state, env, ["fakesvc"]) == ["fakesvc"]
        assert (fake_service / "m").read_text().endswith("/incidents")
        assert service_running(state, "fakesvc")
        assert start_services(paths, state, env, ["fakesvc"]) == []
        put = {"service": "fakesvc", "method": "PUT", "path": "/v1/agents/a1", "json": {"x": 1}}
        assert seed_demo(state, _seed(fake_service, [put, put])) == 2
        post = {"service": "fakesvc", "method": "POST", "path": "/v1/incidents", "json": {}}
        with pytest.raises(StackError, match="422.*severity: field required"):
            seed_demo(state, _seed(fake_service, [put, post]))
    finally:
        pid = state.pids.get("fakesvc")
        stop_service(state, "fakesvc")
    assert pid is not None and not pid_alive(pid)
    assert not service_running(state, "fakesvc")


def test_a_live_service_that_is_not_ready_is_waited_for_never_started_again(
    fake_service: Path,
) -> None:
    paths, state = StackPaths(fake_service / "stack"), StackState()
    env = _environment(state, fake_service)
    try:
        start_services(paths, state, env, ["fakesvc"])
        pid, port = state.pids["fakesvc"], state.port("fakesvc")
        unready = fake_service / "unready"
        unready.touch()
        assert service_running(state, "fakesvc")
        reclaim_ports(state, ["fakesvc"])  # the port is open, but it is the service's own
        threading.Timer(1.0, unready.unlink).start()
        assert start_services(paths, state, env, ["fakesvc"]) == []
        assert (state.pids["fakesvc"], state.port("fakesvc")) == (pid, port)
        assert pid_alive(pid) and not unready.exists()
    finally:
        stop_service(state, "fakesvc")


def test_a_service_that_cannot_migrate_fails_with_its_log(fake_service: Path) -> None:
    paths, state = StackPaths(fake_service / "stack"), StackState()
    paths.ensure()
    with pytest.raises(StackError, match="No module named nosuchservice"):
        start_services(paths, state, _environment(state, fake_service), ["nosuchservice"])


def test_no_seed_file_means_no_seed(tmp_path: Path) -> None:
    assert seed_demo(StackState(), tmp_path / "absent.json") == 0
