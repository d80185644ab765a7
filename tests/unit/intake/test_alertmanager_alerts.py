"""Alertmanager's webhook payload as intake reads it: each alert keyed by group and
fingerprint, its severity through the configured mapping, its words in the incident."""

from typing import Any

import pytest
from incident_events.types import Channel, Severity
from intake.channels.alertmanager import (
    AlertmanagerNotification,
    AlertRules,
    dedup_key,
    report_of,
    resolution_summary,
)
from intake.channels.config import ChannelSettings, parse_pairs
from pydantic import ValidationError

RULES = AlertRules(
    severity_label="severity",
    severities={"critical": Severity.CRITICAL, "warning": Severity.MEDIUM, "info": Severity.LOW},
    default_severity=Severity.HIGH,
    customer_label="customer",
)


def alert(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "status": "firing",
        "labels": {"alertname": "DiskFull", "severity": "critical", "instance": "db-1"},
        "annotations": {"summary": "Disk <b>full</b> on db-1", "description": "97% used"},
        "startsAt": "2026-11-23T09:00:00Z",
        "endsAt": "0001-01-01T00:00:00Z",
        "generatorURL": "http://prometheus/graph",
        "fingerprint": "a1b2c3d4e5f60718",
    }
    return {**base, **changes}


def notification(*alerts: dict[str, Any], **changes: Any) -> AlertmanagerNotification:
    document: dict[str, Any] = {
        "version": "4",
        "groupKey": '{}/{severity="critical"}:{alertname="DiskFull"}',
        "status": "firing",
        "receiver": "intake",
        "alerts": list(alerts) or [alert()],
        "groupLabels": {"alertname": "DiskFull"},
        "commonLabels": {},
        "commonAnnotations": {},
        "externalURL": "http://alertmanager:9093",
        "truncatedAlerts": 0,
        "a field of a newer Alertmanager": True,
        **changes,
    }
    return AlertmanagerNotification.model_validate(document)


def test_a_firing_alert_becomes_a_report() -> None:
    received = notification()
    report = report_of(received, received.alerts[0], RULES)
    assert report.title == "Disk <b>full</b> on db-1"
    assert report.severity is Severity.CRITICAL and report.channel is Channel.ALERTMANAGER
    assert report.customer.customer_id == "alertmanager:intake"
    assert report.description.startswith("97% used")
    assert (
        "  instance=db-1" in report.description and "http://prometheus/graph" in report.description
    )
    assert report.dedup_key is not None and report.dedup_key.endswith(":a1b2c3d4e5f60718")


@pytest.mark.parametrize(
    ("labels", "severity"),
    [
        ({"severity": "warning"}, Severity.MEDIUM),
        ({"severity": "INFO"}, Severity.LOW),
        ({"severity": "page"}, Severity.HIGH),  # unknown: the default
        ({}, Severity.HIGH),
    ],
)
def test_severity_through_the_mapping(labels: dict[str, str], severity: Severity) -> None:
    received = notification(alert(labels={"alertname": "X", **labels}))
    assert report_of(received, received.alerts[0], RULES).severity is severity


def test_the_customer_label_names_the_customer() -> None:
    received = notification(alert(labels={"alertname": "X", "customer": "acme"}))
    assert report_of(received, received.alerts[0], RULES).customer.customer_id == "acme"


def test_keys_are_per_group_and_alert() -> None:
    one, other = notification(), notification(groupKey='{}:{team="web"}')
    first = dedup_key(one.group_key, one.alerts[0])
    assert first == dedup_key(one.group_key, notification().alerts[0])
    assert first != dedup_key(other.group_key, other.alerts[0])
    second = notification(alert(fingerprint="ffff"))
    assert first != dedup_key(second.group_key, second.alerts[0])
    assert len(dedup_key("x" * 5000, one.alerts[0])) < 60


def test_an_alert_without_fingerprint_is_keyed_by_its_labels() -> None:
    received = notification(alert(fingerprint=None), alert(fingerprint=None))
    keys = {dedup_key(received.group_key, a) for a in received.alerts}
    assert len(keys) == 1
    relabelled = notification(alert(fingerprint=None, labels={"alertname": "Y"}))
    assert dedup_key(received.group_key, relabelled.alerts[0]) not in keys


def test_resolution_summary_says_when_and_what() -> None:
    resolved = notification(alert(status="resolved", endsAt="2026-11-23T09:30:00Z"))
    summary = resolution_summary(resolved.alerts[0])
    assert summary == (
        "The alert DiskFull resolved at 2026-11-23T09:30:00+00:00. Disk <b>full</b> on db-1"
    )


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"version": "3"}, "version"),
        ({"alerts": []}, "alerts"),
        ({"alerts": [alert(status="pending")]}, "alerts.0.status"),
        ({"alerts": [alert(startsAt="yesterday")]}, "alerts.0.startsAt"),
        ({"alerts": [alert(labels={"a": "b\x00"})]}, "alerts.0.labels.a"),
        ({"alerts": [alert(fingerprint="not/hex")]}, "alerts.0.fingerprint"),
        ({"receiver": ""}, "receiver"),
    ],
)
def test_bad_payloads_name_the_field(changes: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationError) as caught:
        notification(**changes)
    fields = {".".join(str(p) for p in e["loc"]) for e in caught.value.errors()}
    assert any(f.startswith(field) for f in fields), fields


def test_settings_parse_and_refuse_with_the_variable() -> None:
    assert parse_pairs(" a = b , c ,, ") == {"a": "b", "c": None}
    with pytest.raises(ValueError, match="not `name` or `name=value`"):
        parse_pairs("a=")
    settings = ChannelSettings(alertmanager_severity_map="P1=critical")
    assert settings.alertmanager_severities == {"p1": Severity.CRITICAL}
    with pytest.raises(ValidationError, match="severity must be one of"):
        ChannelSettings(alertmanager_severity_map="critical=urgent")
