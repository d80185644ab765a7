"""Unit tests of the stack's pure pieces: paths, state, configuration, URLs, log following."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from incident_devstack.kafka import new_cluster_id, write_config
from incident_devstack.logs import follow
from incident_devstack.paths import StackPaths, find_repo_root
from incident_devstack.postgres import asyncpg_dsn, create_database_async, with_database
from incident_devstack.postgres_binaries import server_bin_dir
from incident_devstack.postgres_home import is_outside_home, outside_home
from incident_devstack.processes import StackError
from incident_devstack.state import StackState, load_state, save_state


def test_repo_root_is_the_nearest_dir_with_a_marker(tmp_path: Path) -> None:
    (tmp_path / "uv.lock").touch()
    nested = tmp_path / "services" / "intake"
    nested.mkdir(parents=True)
    assert find_repo_root(nested) == tmp_path


def test_stack_dir_comes_from_the_environment_when_set(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STACK_DIR", str(tmp_path / "elsewhere"))
    assert StackPaths.discover().root == tmp_path / "elsewhere"


def test_ports_are_distinct_and_survive_a_reload(tmp_path: Path) -> None:
    paths = StackPaths(tmp_path)
    state = StackState()
    ports = {name: state.port(name) for name in ("kafka", "kafka-controller", "postgres")}
    key = state.demo_api_key()
    save_state(paths, state)
    state.postgres_home = "/var/tmp/incident-devstack-0123456789abcdef"
    save_state(paths, state)
    reloaded = load_state(paths)
    assert len(set(ports.values())) == 3
    assert {name: reloaded.port(name) for name in ports} == ports
    assert reloaded.demo_api_key() == key
    assert reloaded.postgres_home == state.postgres_home


def test_a_cluster_outside_the_checkout_is_named_by_its_stack_dir(tmp_path: Path) -> None:
    one, other = outside_home(StackPaths(tmp_path / "a")), outside_home(StackPaths(tmp_path / "b"))
    assert one != other and one == outside_home(StackPaths(tmp_path / "a"))
    assert is_outside_home(one) and not is_outside_home(tmp_path / "a" / "pg")


def _server_programs(bin_dir: Path) -> None:
    bin_dir.mkdir(parents=True)
    for name in ("initdb", "pg_ctl"):
        (bin_dir / name).touch(mode=0o755)


def test_server_programs_come_from_path_else_debian_s_version_15_else_the_newest(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    debian, on_path = tmp_path / "usr-lib-postgresql", tmp_path / "bin"
    on_path.mkdir()
    monkeypatch.setenv("PATH", str(on_path))
    with pytest.raises(StackError, match="system-packages.sh stack"):
        server_bin_dir(debian)
    for version in ("13", "16"):
        _server_programs(debian / version / "bin")
    assert server_bin_dir(debian) == debian / "16" / "bin"
    _server_programs(debian / "15" / "bin")
    assert server_bin_dir(debian) == debian / "15" / "bin"
    # A symlink on PATH (as in /usr/local/bin) stands for its target's directory.
    (on_path / "pg_ctl").symlink_to(debian / "13" / "bin" / "pg_ctl")
    assert server_bin_dir(debian) == debian / "13" / "bin"


def test_broker_config_listens_on_loopback_with_single_node_internal_topics(
    tmp_path: Path,
) -> None:
    config = write_config(StackPaths(tmp_path), port=9092, controller_port=9093)
    lines = set(config.read_text().splitlines())
    assert "listeners=PLAINTEXT://127.0.0.1:9092,CONTROLLER://127.0.0.1:9093" in lines
    assert "controller.quorum.bootstrap.servers=127.0.0.1:9093" in lines
    assert "offsets.topic.replication.factor=1" in lines
    assert "share.coordinator.state.topic.num.partitions=1" in lines
    log4j = (tmp_path / "kafka" / "log4j2.properties").read_text()
    assert str(tmp_path / "logs" / "kafka.log") in log4j


def test_cluster_ids_look_like_kafka_uuids() -> None:
    ids = {new_cluster_id() for _ in range(200)}
    assert len(ids) == 200
    assert all(len(i) == 22 and not i.startswith("-") for i in ids)


def test_database_urls_keep_server_and_user_and_swap_the_database() -> None:
    url = "postgresql+asyncpg://app:secret@db.internal:5433/incidents?ssl=require"
    assert with_database(url, "test_1") == (
        "postgresql+asyncpg://app:secret@db.internal:5433/test_1?ssl=require"
    )
    assert asyncpg_dsn(url).startswith("postgresql://app:secret@db.internal:5433/")


async def test_database_names_that_are_not_plain_identifiers_are_refused() -> None:
    with pytest.raises(ValueError, match="must match"):
        await create_database_async('x"; DROP', database_url="postgresql://nowhere:1/db")


def test_follow_prints_the_backlog_then_new_and_rewritten_lines(tmp_path: Path) -> None:
    intake, router = tmp_path / "intake.log", tmp_path / "router.log"
    intake.write_text("".join(f"old {n}\n" for n in range(15)))
    passes = 0

    def after_each_pass() -> bool:
        nonlocal passes
        passes += 1
        if passes == 1:
            router.write_text("router up\n")  # a log that appears later
            intake.write_text("after truncation\n")  # a log rewritten from scratch
        return passes == 2

    out = io.StringIO()
    follow([intake, router], out, until=after_each_pass)
    printed = out.getvalue().splitlines()
    assert printed[:10] == [f"intake | old {n}" for n in range(5, 15)]
    assert printed[10:] == ["intake | after truncation", "router | router up"]
