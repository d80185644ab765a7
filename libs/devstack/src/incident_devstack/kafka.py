"""The local single-node Kafka (KRaft, broker and controller in one JVM) under `.stack/kafka`.

Jars come from Maven Central via `kafka/pom.xml` (cached until the POM changes);
storage is formatted once; the broker runs detached and is ready when its port
accepts and its log says `Kafka Server started` (what testcontainers waits for).
A live broker is running even while it starts: it is waited for, never started twice.
"""

from __future__ import annotations

import base64
import hashlib
import shutil
import subprocess
import uuid
from pathlib import Path

from incident_devstack.paths import StackPaths, find_repo_root
from incident_devstack.processes import (
    StackError,
    log_tail,
    pid_alive,
    port_open,
    process_matches,
    spawn_detached,
    terminate,
    wait_until,
)
from incident_devstack.state import StackState

READY_LINE = "Kafka Server started"
START_TIMEOUT_S = 120.0
STOP_TIMEOUT_S = 30.0
# The JVM's default tiered compilers. C1 alone (-XX:TieredStopAtLevel=1) was measured: the
# broker cost 4.3 ms of CPU per incident at 50/s from the start and stayed at 4.0, where with C2
# it costs 7 ms in its first minutes, then 2.7-3.0.
JVM_OPTIONS = ("-Xms256m", "-Xmx512m", "-Djava.awt.headless=true")

# Sized for one node: internal topics default to replication 3 and 50
# partitions, which a single broker cannot host and which slow every start.
BROKER_SETTINGS = {
    "process.roles": "broker,controller",
    "node.id": "1",
    "controller.listener.names": "CONTROLLER",
    "inter.broker.listener.name": "PLAINTEXT",
    "listener.security.protocol.map": "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
    "offsets.topic.replication.factor": "1",
    "offsets.topic.num.partitions": "1",
    "transaction.state.log.replication.factor": "1",
    "transaction.state.log.min.isr": "1",
    "transaction.state.log.num.partitions": "1",
    "share.coordinator.state.topic.replication.factor": "1",
    "share.coordinator.state.topic.min.isr": "1",
    "share.coordinator.state.topic.num.partitions": "1",
    # The 3 s default delays every consumer group's first join in tests.
    "group.initial.rebalance.delay.ms": "0",
    # The 128 MiB default dedupe buffer would take a quarter of the small heap.
    "log.cleaner.dedupe.buffer.size": "2097152",
    # Kafka 4's group coordinator lingers 5 ms before it writes, so every offset commit took
    # 6 ms (measured): each consumer batch ends with one.
    "group.coordinator.append.linger.ms": "0",
    "auto.create.topics.enable": "true",
    "num.partitions": "3",
}

LOG4J2_TEMPLATE = """\
status = warn
appender.file.type = File
appender.file.name = FILE
appender.file.fileName = {log}
appender.file.append = true
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = INFO
rootLogger.appenderRef.file.ref = FILE
"""


def pom_path() -> Path:
    """`libs/devstack/kafka/pom.xml`, next to this package's source tree or under the repo root."""
    beside_source = Path(__file__).resolve().parents[2] / "kafka" / "pom.xml"
    if beside_source.exists():
        return beside_source
    return find_repo_root() / "libs" / "devstack" / "kafka" / "pom.xml"


def ensure_jars(paths: StackPaths) -> Path:
    """The broker classpath dir, fetched with Maven unless the same POM already filled it."""
    libs = paths.kafka / "libs"
    pom = pom_path()
    marker = libs / ".pom-sha256"
    digest = hashlib.sha256(pom.read_bytes()).hexdigest()
    if marker.exists() and marker.read_text() == digest:
        return libs
    mvn = shutil.which("mvn")
    if mvn is None:
        raise StackError(
            "Maven (mvn) is needed once to fetch the Kafka jars; it is not on PATH "
            "(on Debian/Ubuntu `tools/system-packages.sh stack` installs it)"
        )
    shutil.rmtree(libs, ignore_errors=True)
    argv = [mvn, "-q", "-B", "-f", str(pom), "dependency:copy-dependencies"]
    argv += ["-DincludeScope=runtime", f"-DoutputDirectory={libs}"]
    with paths.log("maven").open("ab") as log:
        done = subprocess.run(argv, stdout=log, stderr=subprocess.STDOUT, check=False)
    if done.returncode != 0:
        raise StackError(f"fetching the Kafka jars failed\n{log_tail(paths.log('maven'))}")
    marker.write_text(digest)
    return libs


def write_config(paths: StackPaths, *, port: int, controller_port: int) -> Path:
    """server.properties and the log4j2 config; rewritten each start so edits here take effect."""
    paths.kafka.mkdir(parents=True, exist_ok=True)
    listeners = f"PLAINTEXT://127.0.0.1:{port},CONTROLLER://127.0.0.1:{controller_port}"
    settings = {
        **BROKER_SETTINGS,
        "controller.quorum.bootstrap.servers": f"127.0.0.1:{controller_port}",
        "listeners": listeners,
        "advertised.listeners": listeners,
        "log.dirs": str(paths.kafka / "data"),
    }
    config = paths.kafka / "server.properties"
    config.write_text("".join(f"{key}={value}\n" for key, value in settings.items()))
    (paths.kafka / "log4j2.properties").write_text(LOG4J2_TEMPLATE.format(log=paths.log("kafka")))
    return config


def java_argv(paths: StackPaths, libs: Path, main_class: str, *args: str) -> list[str]:
    java = shutil.which("java")
    if java is None:
        raise StackError(
            "Java 17+ (java) is needed to run Kafka; it is not on PATH "
            "(on Debian/Ubuntu `tools/system-packages.sh stack` installs it)"
        )
    log4j = f"-Dlog4j2.configurationFile={paths.kafka / 'log4j2.properties'}"
    return [java, *JVM_OPTIONS, log4j, "-cp", f"{libs}/*", main_class, *args]


def new_cluster_id() -> str:
    # Kafka's Uuid.randomUuid() in Python, which spares a JVM start:
    # URL-safe base64 of 16 random bytes, no padding, not starting with '-'.
    while True:
        text = base64.urlsafe_b64encode(uuid.uuid4().bytes).rstrip(b"=").decode()
        if not text.startswith("-"):
            return text


def format_storage(paths: StackPaths, libs: Path, config: Path) -> None:
    """Format the KRaft storage once (a standalone dynamic quorum of this one controller)."""
    if (paths.kafka / "data" / "meta.properties").exists():
        return
    args = ["format", "--standalone", "-t", new_cluster_id(), "-c", str(config)]
    argv = java_argv(paths, libs, "kafka.tools.StorageTool", *args)
    with paths.log("kafka").open("ab") as log:
        done = subprocess.run(argv, stdout=log, stderr=subprocess.STDOUT, check=False)
    if done.returncode != 0:
        raise StackError(f"formatting Kafka storage failed\n{log_tail(paths.log('kafka'))}")


def bootstrap_servers(state: StackState) -> str:
    return f"127.0.0.1:{state.port('kafka')}"


def _is_our_broker(paths: StackPaths, pid: int | None) -> bool:
    # The config path in the command line tells our JVM from a process that reused the pid.
    return pid is not None and process_matches(pid, str(paths.kafka / "server.properties"))


def kafka_running(paths: StackPaths, state: StackState) -> bool:
    """Whether this stack's broker is alive, ready or not (it may be starting or stopping)."""
    return _is_our_broker(paths, state.pids.get("kafka"))


def start_kafka(paths: StackPaths, state: StackState) -> bool:
    """Ensure the broker runs; True when this call started it, False when it was already up."""
    if kafka_running(paths, state) and _await_running_broker(paths, state):
        return False
    port, controller_port = state.port("kafka"), state.port("kafka-controller")
    if taken := [p for p in (port, controller_port) if port_open(p)]:
        raise StackError(f"ports {taken} saved for Kafka are in use by another process")
    paths.ensure()
    libs = ensure_jars(paths)
    config = write_config(paths, port=port, controller_port=controller_port)
    format_storage(paths, libs, config)
    log = paths.log("kafka")
    log_offset = log.stat().st_size if log.exists() else 0
    pid = spawn_detached(java_argv(paths, libs, "kafka.Kafka", str(config)), log=log)
    state.pids["kafka"] = pid
    try:
        wait_until(
            lambda: _broker_ready(pid, port, log, log_offset),
            timeout=START_TIMEOUT_S,
            what=f"Kafka on 127.0.0.1:{port}",
            diagnose=lambda: log_tail(log),
        )
    except StackError:
        # A broker that never got ready would otherwise hold the ports and data dir.
        stop_kafka(paths, state)
        raise
    return True


def _await_running_broker(paths: StackPaths, state: StackState) -> bool:
    """Wait until the live broker listens (True) or exits (False: start it anew)."""
    port = state.port("kafka")
    wait_until(
        lambda: not kafka_running(paths, state) or port_open(port),
        timeout=START_TIMEOUT_S,
        what=f"the running Kafka on 127.0.0.1:{port}",
        diagnose=lambda: log_tail(paths.log("kafka")),
    )
    return kafka_running(paths, state)


def _broker_ready(pid: int, port: int, log: Path, offset: int) -> bool:
    if not pid_alive(pid):
        raise StackError(f"Kafka exited during start-up\n{log_tail(log)}")
    if not port_open(port):
        return False
    with log.open("rb") as handle:
        handle.seek(offset)
        return READY_LINE.encode() in handle.read()


def stop_kafka(paths: StackPaths, state: StackState) -> None:
    pid = state.pids.pop("kafka", None)
    if pid is not None and _is_our_broker(paths, pid):
        terminate(pid, timeout=STOP_TIMEOUT_S)
