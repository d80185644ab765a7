"""The deployment files under deploy/ are valid and agree with the code.

- Prometheus: `promtool check config` / `check rules` / `test rules` (promtool must be installed:
  Debian package `prometheus`; these tests fail, not skip, without it).
- compose.yaml and the Kubernetes manifests: every service migrates first, serves with
  readiness (/readyz) and liveness (/healthz) probes, and gets the environment it reads.
- The Grafana dashboard and the alert rules only use metrics the services export.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from incident_kit.settings import ServiceSettings

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"
PROMETHEUS = DEPLOY / "prometheus"
KUBERNETES = DEPLOY / "kubernetes"

SERVICES = {"intake": 8001, "router": 8002, "sla": 8003, "notifier": 8004}

# Read by every service without a prefix (incident_kit.settings.ServiceSettings).
KAFKA_ENV = {
    "KAFKA_BOOTSTRAP_SERVERS",
    "KAFKA_SECURITY_PROTOCOL",
    "KAFKA_SASL_MECHANISM",
    "KAFKA_SASL_USERNAME",
    "KAFKA_SASL_PASSWORD",
    "KAFKA_SSL_CAFILE",
}
SHARED_ENV = KAFKA_ENV | {"DATABASE_URL", "API_KEYS"}
# What a PLAINTEXT deployment (compose) must set; SASL/TLS variables stay unset there.
REQUIRED_SHARED_ENV = {
    "KAFKA_BOOTSTRAP_SERVERS",
    "KAFKA_SECURITY_PROTOCOL",
    "DATABASE_URL",
    "API_KEYS",
}
NOTIFIER_ENV = {
    "NOTIFIER_SMTP_HOST",
    "NOTIFIER_SMTP_PORT",
    "NOTIFIER_SMTP_FROM",
    "NOTIFIER_PUBLIC_URL",
}


def service_env(name: str) -> set[str]:
    own = {f"{name.upper()}_HTTP_HOST", f"{name.upper()}_HTTP_PORT", f"{name.upper()}_LOG_LEVEL"}
    return own | (NOTIFIER_ENV if name == "notifier" else set())


# --- metric names the services export ------------------------------------------------------------

COUNTERS_AND_GAUGES = {
    # incident_kit.metrics.ServiceMetrics
    "http_requests_total",
    "outbox_events_published_total",
    "outbox_pending_events",
    "outbox_relay_leader",
    "outbox_events_pruned_total",
    "inbox_claims_pruned_total",
    # incident_kit.outbox_metrics.QuarantineMetrics
    "outbox_events_quarantined_total",
    "outbox_quarantined_events",
    "outbox_held_events",
    "events_handled_total",
    "dead_letters_total",
    "consumer_batch_retries_total",
    # incident_kit.overload.OverloadMetrics
    "http_requests_shed_total",
    "http_requests_in_flight",
    # FastStream's KafkaPrometheusMiddleware (faststream/prometheus/container.py)
    "faststream_received_messages_total",
    "faststream_received_messages_in_process",
    "faststream_received_processed_messages_total",
    "faststream_received_processed_messages_exceptions_total",
    "faststream_published_messages_total",
    "faststream_published_messages_exceptions_total",
    # intake
    "incidents_reported_total",
    "incidents_deduplicated_total",
    "idempotency_keys_expired_total",
    "intake_requests_rejected_total",
    "incident_transitions_total",
    "incident_comments_total",
    "incident_amendments_total",
    "incident_changes_refused_total",
    # router
    "assignments_total",
    "queue_depth",
    # sla
    "sla_clocks_started_total",
    "sla_breaches_total",
    "sla_met_total",
    "sla_warnings_total",
    "sla_running_clocks",
    # notifier
    "notifications_sent_total",
    "notifications_failed_total",
    # Prometheus' own, per scraped target
    "up",
}
HISTOGRAMS = {
    "http_request_duration_seconds",
    "outbox_publish_lag_seconds",
    "faststream_received_messages_size_bytes",
    "faststream_received_processed_messages_duration_seconds",
    "faststream_published_messages_duration_seconds",
}
# Classic histograms are queried through their series, never by their bare name.
KNOWN_METRICS = COUNTERS_AND_GAUGES | {
    f"{name}{suffix}" for name in HISTOGRAMS for suffix in ("_bucket", "_sum", "_count")
}
# The metrics of the platform that the dashboard must show.
DASHBOARD_METRICS = {
    "http_requests_total",
    "http_request_duration_seconds_bucket",
    "outbox_events_published_total",
    "outbox_publish_lag_seconds_bucket",
    "outbox_pending_events",
    "events_handled_total",
    "dead_letters_total",
    "consumer_batch_retries_total",
    "incidents_reported_total",
    "incidents_deduplicated_total",
    "intake_requests_rejected_total",
    "assignments_total",
    "queue_depth",
    "sla_breaches_total",
    "sla_met_total",
    "sla_running_clocks",
    "notifications_sent_total",
    "notifications_failed_total",
}

PROMQL_KEYWORDS = {"and", "or", "unless", "bool", "inf", "nan", "atan2", "offset"}


def metric_names(expr: str) -> set[str]:
    """The metric names a PromQL expression selects (functions, labels and keywords left out)."""
    text = re.sub(r'"(?:\\.|[^"\\])*"', '""', expr)  # string literals
    text = re.sub(r"\{[^}]*\}", " ", text)  # label matchers
    text = re.sub(r"\[[^\]]*\]", " ", text)  # range selectors and subqueries
    text = re.sub(
        r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", text
    )  # grouping label lists
    text = re.sub(r"\boffset\s+-?[0-9a-z]+", " ", text)
    text = re.sub(r"\$\{?\w+\}?", "0", text)  # Grafana variables
    names = set()
    for match in re.finditer(r"(?<![\w.])[A-Za-z_:][A-Za-z0-9_:]*", text):
        token = match.group(0)
        if text[match.end() :].lstrip().startswith("("):
            continue  # a function or an aggregation
        if token.lower() in PROMQL_KEYWORDS:
            continue
        names.add(token)
    return names


def test_metric_name_extraction() -> None:
    expr = (
        'sum by (service, le) (rate(http_request_duration_seconds_bucket{route!~"/x|/y"}[5m]))'
        " / on (service) group_left (instance) max(up offset 15m) > 1e3"
        ' unless topk(5, queue_depth{a="b"}) * 0 and bool outbox_pending_events[$__rate_interval]'
    )
    assert metric_names(expr) == {
        "http_request_duration_seconds_bucket",
        "up",
        "queue_depth",
        "outbox_pending_events",
    }


# --- promtool ----------------------------------------------------------------------------------


def promtool(*args: str) -> subprocess.CompletedProcess[str]:
    path = shutil.which("promtool")
    if path is None:
        pytest.fail(
            "promtool is not on PATH, so the Prometheus config and alert rules cannot be checked. "
            "Install it: `apt-get install -y prometheus` (Debian/Ubuntu) or put a Prometheus "
            "release's promtool on PATH.",
            pytrace=False,
        )
    return subprocess.run(
        [path, *args], cwd=REPO, capture_output=True, text=True, timeout=120, check=False
    )


def assert_ok(done: subprocess.CompletedProcess[str]) -> None:
    assert done.returncode == 0, f"{' '.join(done.args)} failed:\n{done.stdout}\n{done.stderr}"


@pytest.mark.parametrize("config", ["prometheus.local.yml", "prometheus.yml"])
def test_promtool_check_config(config: str) -> None:
    done = promtool("check", "config", str(PROMETHEUS / config))
    assert_ok(done)
    assert "alerts.yml" in done.stdout, "the config must load the alert rules"


def test_promtool_check_kubernetes_config(tmp_path: Path) -> None:
    """Debian's promtool is built without Kubernetes discovery, so the test checks the discovery
    block itself and promtool the rest (relabelling, rule files) with a static target instead."""
    config = load_yaml(PROMETHEUS / "prometheus.kubernetes.yml")
    (job,) = config["scrape_configs"]
    assert job.pop("kubernetes_sd_configs") == [
        {"role": "pod", "namespaces": {"names": ["incident-platform"]}}
    ]
    job["static_configs"] = [{"targets": ["intake:8000"]}]
    (tmp_path / "alerts.yml").write_text((PROMETHEUS / "alerts.yml").read_text())
    checked = tmp_path / "prometheus.kubernetes.yml"
    checked.write_text(yaml.safe_dump(config))
    done = promtool("check", "config", str(checked))
    assert_ok(done)
    assert "alerts.yml" in done.stdout, "the config must load the alert rules"


def test_promtool_check_rules() -> None:
    assert_ok(promtool("check", "rules", str(PROMETHEUS / "alerts.yml")))


def test_promtool_test_rules() -> None:
    done = promtool("test", "rules", str(PROMETHEUS / "alerts_test.yml"))
    assert_ok(done)
    assert "SUCCESS" in done.stdout + done.stderr


# --- Prometheus files without promtool ---------------------------------------------------------


def load_yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text())


def alert_rules() -> list[dict[str, Any]]:
    groups = load_yaml(PROMETHEUS / "alerts.yml")["groups"]
    return [rule for group in groups for rule in group["rules"]]


def test_alert_rules_cover_the_platform_and_carry_runbooks() -> None:
    rules = alert_rules()
    names = {rule["alert"] for rule in rules}
    assert {
        "IncidentServiceDown",
        "IncidentServiceNotReady",
        "IncidentDeadLettersIncreasing",
        "IncidentOutboxBacklogGrowing",
        "IncidentOutboxPublishLagHigh",
        "IncidentOutboxNoRelayLeader",
        "IncidentOutboxTwoRelayLeaders",
        "IncidentOutboxQuarantined",
        "IncidentConsumerWaitingOnOutage",
        "IncidentConsumerExceptions",
        "IncidentHTTPErrorRatioHigh",
        "IncidentHTTPLatencyP99High",
        "IncidentHTTPRequestsShed",
        "SLABreachRateHigh",
        "AssignmentQueueDepthHigh",
        "NotificationFailuresHigh",
    } <= names
    for rule in rules:
        assert rule["labels"]["severity"] in {"critical", "warning"}, rule["alert"]
        assert {"summary", "description", "runbook"} <= set(rule["annotations"]), rule["alert"]
        unknown = metric_names(rule["expr"]) - KNOWN_METRICS
        assert not unknown, f"{rule['alert']} uses unknown metrics {unknown}"


def test_alert_unit_tests_check_firing_and_silence() -> None:
    document = load_yaml(PROMETHEUS / "alerts_test.yml")
    assert document["rule_files"] == ["alerts.yml"]
    fires: set[str] = set()
    silent: set[str] = set()
    for test in document["tests"]:
        for case in test["alert_rule_test"]:
            (fires if case["exp_alerts"] else silent).add(case["alertname"])
    assert len(fires & silent) >= 3, "at least 3 alerts tested both firing and not firing"
    assert fires <= {rule["alert"] for rule in alert_rules()}


def scrape_targets(config: str) -> dict[str, str]:
    """service label -> target, over every static target of the config."""
    targets = {}
    for job in load_yaml(PROMETHEUS / config)["scrape_configs"]:
        for group in job.get("static_configs", []):
            service = group.get("labels", {}).get("service")
            if service:
                (target,) = group["targets"]
                targets[service] = target
    return targets


def test_prometheus_configs_scrape_every_service() -> None:
    assert scrape_targets("prometheus.local.yml") == {
        name: f"127.0.0.1:{port}" for name, port in SERVICES.items()
    }
    assert scrape_targets("prometheus.yml") == {
        name: f"{name}:{port}" for name, port in SERVICES.items()
    }
    for config in ("prometheus.local.yml", "prometheus.yml", "prometheus.kubernetes.yml"):
        assert load_yaml(PROMETHEUS / config)["rule_files"] == ["alerts.yml"]


# --- the environment names agree with the code -------------------------------------------------


def test_deploy_env_names_are_the_ones_the_settings_read() -> None:
    fields = ServiceSettings.model_fields
    unprefixed = {
        str(info.validation_alias.choices[0])  # type: ignore[union-attr]
        for info in fields.values()
        if info.validation_alias is not None
    }
    assert SHARED_ENV <= unprefixed
    assert {"http_host", "http_port", "log_level"} <= set(fields)


# --- compose -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    document: dict[str, Any] = load_yaml(DEPLOY / "compose.yaml")
    return document


def test_compose_has_the_infrastructure(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert services["kafka"]["image"].startswith("apache/kafka:4.1.")
    assert "broker,controller" in str(services["kafka"]["environment"]["KAFKA_PROCESS_ROLES"])
    assert services["postgres"]["image"].startswith("postgres:15")
    assert services["mailpit"]["image"].startswith("axllent/mailpit")
    for name in ("kafka", "postgres", "mailpit", "prometheus", "grafana"):
        assert "healthcheck" in services[name], name


@pytest.mark.parametrize("name", SERVICES)
def test_compose_service_migrates_then_serves_with_readiness(
    compose: dict[str, Any], name: str
) -> None:
    port = SERVICES[name]
    services = compose["services"]
    service, migrate = services[name], services[f"{name}-migrate"]

    assert migrate["command"] == ["python", "-m", name, "migrate"]
    assert migrate["restart"] == "no"
    assert REQUIRED_SHARED_ENV <= set(migrate["environment"])
    assert service["command"] == ["python", "-m", name, "serve"]
    assert service["image"] == migrate["image"]
    assert service["build"]["dockerfile"] == "deploy/Dockerfile"
    assert (DEPLOY / service["build"]["context"] / service["build"]["dockerfile"]).is_file()
    assert service["depends_on"][f"{name}-migrate"]["condition"] == (
        "service_completed_successfully"
    )
    for infra in ("kafka", "postgres"):
        assert service["depends_on"][infra]["condition"] == "service_healthy"

    env = service["environment"]
    assert REQUIRED_SHARED_ENV | service_env(name) <= set(env)
    assert env[f"{name.upper()}_HTTP_HOST"] == "0.0.0.0"
    assert str(env[f"{name.upper()}_HTTP_PORT"]) == str(port)
    # Empty SASL/TLS settings would not validate; this broker is PLAINTEXT.
    assert not (KAFKA_ENV - REQUIRED_SHARED_ENV) & set(env)
    assert env["KAFKA_SECURITY_PROTOCOL"] == "PLAINTEXT"
    assert env["DATABASE_URL"].startswith("postgresql+asyncpg://")

    check = " ".join(service["healthcheck"]["test"])
    assert f"127.0.0.1:{port}/readyz" in check
    assert any(mapping.endswith(f":{port}:{port}") for mapping in service["ports"])
    assert service["stop_grace_period"] == "30s"
    if name == "notifier":
        assert env["NOTIFIER_SMTP_HOST"] == "mailpit"


def test_compose_observability_mounts_exist(compose: dict[str, Any]) -> None:
    services = compose["services"]
    mounts = services["prometheus"]["volumes"] + services["grafana"]["volumes"]
    for mount in mounts:
        source = mount.split(":")[0]
        if source.startswith("."):
            assert (DEPLOY / source).exists(), f"{source} (relative to deploy/) is missing"
    assert "./prometheus:/etc/prometheus:ro" in services["prometheus"]["volumes"]
    provider = load_yaml(DEPLOY / "grafana/provisioning/dashboards/incident-platform.yaml")
    dashboards_dir = provider["providers"][0]["options"]["path"]
    assert any(
        mount.startswith("./grafana/dashboard.json:" + dashboards_dir + "/")
        for mount in services["grafana"]["volumes"]
    )


# --- Kubernetes --------------------------------------------------------------------------------


def kubernetes_objects() -> Iterator[dict[str, Any]]:
    kustomization = load_yaml(KUBERNETES / "kustomization.yaml")
    for resource in kustomization["resources"]:
        for document in yaml.safe_load_all((KUBERNETES / resource).read_text()):
            if document:
                yield document


@pytest.fixture(scope="module")
def objects() -> dict[tuple[str, str], dict[str, Any]]:
    return {(doc["kind"], doc["metadata"]["name"]): doc for doc in kubernetes_objects()}


def test_kustomization_lists_every_manifest() -> None:
    listed = set(load_yaml(KUBERNETES / "kustomization.yaml")["resources"])
    present = {path.name for path in KUBERNETES.glob("*.yaml")} - {"kustomization.yaml"}
    assert listed == present


def env_names(container: dict[str, Any]) -> set[str]:
    return {item["name"] for item in container.get("env", [])}


def check_env_refs(
    container: dict[str, Any], config: dict[str, str], secret: dict[str, str]
) -> None:
    for item in container.get("env", []):
        source = item.get("valueFrom", {})
        for kind, keys in (("configMapKeyRef", config), ("secretKeyRef", secret)):
            ref = source.get(kind)
            if ref and not ref.get("optional"):
                assert ref["key"] in keys, f"{item['name']}: {kind} key {ref['key']} is missing"


@pytest.mark.parametrize("name", SERVICES)
def test_kubernetes_deployment(objects: dict[tuple[str, str], dict[str, Any]], name: str) -> None:
    port = SERVICES[name]
    deployment = objects[("Deployment", name)]
    spec = deployment["spec"]
    pod = spec["template"]["spec"]
    config = objects[("ConfigMap", "incident-platform-config")]["data"]
    secret = objects[("Secret", "incident-platform-secrets")]["stringData"]

    assert spec["replicas"] == 2
    assert pod["terminationGracePeriodSeconds"] == 30
    assert pod["securityContext"]["runAsNonRoot"] is True
    labels = spec["template"]["metadata"]["labels"]
    assert spec["selector"]["matchLabels"].items() <= labels.items()

    annotations = spec["template"]["metadata"]["annotations"]
    assert annotations["prometheus.io/scrape"] == "true"
    assert annotations["prometheus.io/port"] == str(port)
    assert annotations["prometheus.io/path"] == "/metrics"

    (init,) = pod["initContainers"]
    (container,) = pod["containers"]
    assert init["command"] == ["python", "-m", name, "migrate"]
    assert container["command"] == ["python", "-m", name, "serve"]
    assert init["image"] == container["image"]

    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert ports == {"http": port}
    readiness, liveness = container["readinessProbe"], container["livenessProbe"]
    assert readiness["httpGet"]["path"] == "/readyz"
    assert liveness["httpGet"]["path"] == "/healthz"
    for probe in (readiness, liveness, container["startupProbe"]):
        assert probe["httpGet"]["port"] in ("http", port)

    for each in (init, container):
        resources = each["resources"]
        assert {"cpu", "memory"} <= set(resources["requests"]), each["name"]
        assert "memory" in resources["limits"], each["name"]
        assert SHARED_ENV | service_env(name) <= env_names(each), each["name"]
        values = {item["name"]: item.get("value") for item in each["env"]}
        assert values[f"{name.upper()}_HTTP_HOST"] == "0.0.0.0"
        assert values[f"{name.upper()}_HTTP_PORT"] == str(port)
        check_env_refs(each, config, secret)


@pytest.mark.parametrize("name", SERVICES)
def test_kubernetes_service(objects: dict[tuple[str, str], dict[str, Any]], name: str) -> None:
    service = objects[("Service", name)]["spec"]
    pod_labels = objects[("Deployment", name)]["spec"]["template"]["metadata"]["labels"]
    assert service["selector"].items() <= pod_labels.items()
    (port,) = service["ports"]
    assert port["port"] == SERVICES[name]
    assert port["targetPort"] in ("http", SERVICES[name])
    assert ("PodDisruptionBudget", name) in objects


def test_kubernetes_config_is_valid_for_the_settings(
    objects: dict[tuple[str, str], dict[str, Any]],
) -> None:
    config = objects[("ConfigMap", "incident-platform-config")]["data"]
    secret = objects[("Secret", "incident-platform-secrets")]["stringData"]
    assert config["KAFKA_SECURITY_PROTOCOL"] in {"PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"}
    assert config["LOG_LEVEL"] in {"DEBUG", "INFO", "WARNING", "ERROR"}
    assert NOTIFIER_ENV <= set(config)
    assert secret["DATABASE_URL"].startswith(("postgresql+asyncpg://", "postgresql://"))
    assert all(isinstance(value, str) for value in [*config.values(), *secret.values()])


# --- image -------------------------------------------------------------------------------------


def test_dockerfile_builds_the_locked_workspace_as_non_root() -> None:
    dockerfile = (DEPLOY / "Dockerfile").read_text()
    assert re.search(r"^FROM \$\{PYTHON_IMAGE\} AS build$", dockerfile, re.M)
    assert "ARG PYTHON_IMAGE=python:3.11-slim" in dockerfile
    assert 'pip install "uv==' in dockerfile
    assert "uv sync --frozen --no-dev --all-packages" in dockerfile
    users = re.findall(r"^USER (\S+)", dockerfile, re.M)
    assert users and users[-1].split(":")[0] not in {"root", "0"}
    assert not re.search(r"^ENTRYPOINT", dockerfile, re.M), "the command chooses the service"
    ignore = (DEPLOY / "Dockerfile.dockerignore").read_text().split()
    assert {"!pyproject.toml", "!uv.lock", "!libs", "!services"} <= set(ignore)


# --- Grafana -----------------------------------------------------------------------------------


def dashboard_panels(panels: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for panel in panels:
        yield panel
        yield from dashboard_panels(panel.get("panels", []))


def test_dashboard_uses_only_exported_metrics() -> None:
    dashboard = json.loads((DEPLOY / "grafana/dashboard.json").read_text())
    assert dashboard["uid"] and dashboard["title"]
    panels = list(dashboard_panels(dashboard["panels"]))
    ids = [panel["id"] for panel in panels]
    assert len(ids) == len(set(ids)), "panel ids must be unique"

    used: set[str] = set()
    for panel in panels:
        assert panel["gridPos"]["x"] + panel["gridPos"]["w"] <= 24, panel["title"]
        if panel["type"] == "row":
            continue
        assert panel["targets"], f"panel {panel['title']!r} has no query"
        for target in panel["targets"]:
            names = metric_names(target["expr"])
            assert names, f"{panel['title']!r}: no metric in {target['expr']!r}"
            unknown = names - KNOWN_METRICS
            assert not unknown, f"{panel['title']!r} uses unknown metrics {unknown}"
            assert target["datasource"]["uid"] == "${datasource}"
            used |= names
    missing = DASHBOARD_METRICS - used
    assert not missing, f"the dashboard shows nothing of {missing}"


def test_grafana_provisioning_points_at_prometheus() -> None:
    datasources = load_yaml(DEPLOY / "grafana/provisioning/datasources/prometheus.yaml")
    (source,) = datasources["datasources"]
    assert source["type"] == "prometheus"
    assert source["url"] == "http://prometheus:9090"
