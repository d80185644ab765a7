"""PagerDuty Events API v2 events as intake reads them: what each action needs, the severity
levels mapped, dedup_keys kept per routing key, and the trigger's words in the incident."""

from typing import Any

import pytest
from incident_events.types import Channel, Severity
from intake.channels.pagerduty import EventIn, report_of, stored_dedup_key
from pydantic import ValidationError


def event(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "routing_key": "R0UT1NGKEY",
        "event_action": "trigger",
        "dedup_key": "disk-db-1",
        "payload": {
            "summary": "Disk full on db-1",
            "source": "db-1.example.com",
            "severity": "error",
            "component": "postgres",
            "class": "disk",
            "custom_details": {"used": "97%", "note": "<script>x</script>"},
        },
    }
    return {**base, **changes}


def error_fields(document: dict[str, Any]) -> list[str]:
    with pytest.raises(ValidationError) as caught:
        EventIn.model_validate(document)
    return [
        ".".join(str(p) for p in e["loc"]) or str(e["msg"]).split(", ", 1)[1]
        for e in caught.value.errors()
    ]


@pytest.mark.parametrize(
    ("severity", "expected"),
    [
        ("critical", Severity.CRITICAL),
        ("error", Severity.HIGH),
        ("warning", Severity.MEDIUM),
        ("info", Severity.LOW),
    ],
)
def test_severity_levels(severity: str, expected: Severity) -> None:
    document = event()
    document["payload"]["severity"] = severity
    payload = EventIn.model_validate(document).payload
    assert payload is not None
    report = report_of(payload, routing_key="k", dedup_key="d", customer_id=None)
    assert report.severity is expected


def test_a_trigger_becomes_a_report() -> None:
    payload = EventIn.model_validate(event()).payload
    assert payload is not None
    report = report_of(payload, routing_key="R0UT1NGKEY", dedup_key="disk-db-1", customer_id="acme")
    assert (report.title, report.channel) == ("Disk full on db-1", Channel.EVENTS_API)
    assert report.customer.customer_id == "acme"
    assert "Component: postgres" in report.description and "Class: disk" in report.description
    assert '"note": "<script>x</script>"' in report.description  # kept as text
    assert report.dedup_key == stored_dedup_key("R0UT1NGKEY", "disk-db-1")
    anonymous = report_of(payload, routing_key="k", dedup_key="d", customer_id=None)
    assert anonymous.customer.customer_id == "events:db-1.example.com"


def test_dedup_keys_are_kept_per_routing_key() -> None:
    assert stored_dedup_key("a", "x") != stored_dedup_key("b", "x")
    assert "a-secret-key" not in stored_dedup_key("a-secret-key", "x")


def test_a_clients_own_key_keeps_dedup_keys_per_client_only() -> None:
    # The same for every key of the client: a rotated key still reaches its open incidents.
    assert stored_dedup_key(None, "disk-db-1") == "events:disk-db-1"
    payload = EventIn.model_validate(event()).payload
    assert payload is not None
    report = report_of(payload, routing_key=None, dedup_key="disk-db-1", customer_id=None)
    assert report.dedup_key == "events:disk-db-1"


def test_acknowledge_and_resolve_need_only_the_key() -> None:
    for action in ("acknowledge", "resolve"):
        document = {"routing_key": "k", "event_action": action, "dedup_key": "d"}
        assert EventIn.model_validate(document).payload is None


@pytest.mark.parametrize(
    ("document", "field"),
    [
        (event(event_action="snooze"), "event_action"),
        (event(routing_key=""), "routing_key"),
        (event(payload=None), "payload"),
        ({"routing_key": "k", "event_action": "resolve"}, "dedup_key"),
        (event(dedup_key="d" * 256), "dedup_key"),
        (event(payload={"source": "s", "severity": "info"}), "payload.summary"),
        (event(payload={"summary": "s", "source": "s", "severity": "high"}), "payload.severity"),
        (event(payload={"summary": "s", "source": "s", "severity": "info", "x": 1}), "payload.x"),
        (
            event(payload={"summary": "s" * 1025, "source": "s", "severity": "info"}),
            "payload.summary",
        ),
        (event(unknown=True), "unknown"),
    ],
)
def test_bad_events_name_the_field(document: dict[str, Any], field: str) -> None:
    assert any(found.startswith(field) for found in error_fields(document))
