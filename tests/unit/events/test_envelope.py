"""The envelope: round trips, and precise errors for every kind of bad message."""

import json
from datetime import UTC, datetime, timedelta, timezone

import pytest
from incident_events import EventParseError, follow_up, new_event, parse_event
from incident_events.incidents import CustomerRef, IncidentReported
from incident_events.routing import IncidentAssigned

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def reported(**overrides: object) -> IncidentReported:
    fields: dict[str, object] = {
        "incident_id": "inc-1",
        "reference": "INC-000001",
        "title": "Checkout fails",
        "severity": "high",
        "channel": "api",
        "reported_at": T0,
        "customer": CustomerRef(customer_id="c-1", email="ann@example.com", language="cs"),
    }
    return IncidentReported.model_validate(fields | overrides)


def test_round_trip_keeps_the_typed_payload_and_uses_incident_id_as_subject() -> None:
    event = new_event(reported(), source="/intake", now=T0)
    parsed = parse_event(event.to_json())
    assert parsed.type == "incident.reported.v1"
    assert parsed.subject == "inc-1"
    assert parsed.data == reported()
    assert json.loads(event.to_json())["specversion"] == "1.0"


def test_follow_up_keeps_correlation_and_names_its_cause() -> None:
    cause = new_event(
        reported(),
        source="/intake",
        now=T0,
        correlation_id="corr-9",
        traceparent="00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
    )
    effect = follow_up(
        cause,
        IncidentAssigned(incident_id="inc-1", agent_id="a1", reason="r", assigned_at=T0),
        source="/router",
        now=T0,
    )
    assert effect.correlationid == "corr-9"
    assert effect.causationid == str(cause.id)
    assert effect.traceparent == cause.traceparent


def test_times_are_normalised_to_utc() -> None:
    prague = timezone(timedelta(hours=1))
    event = new_event(
        reported(reported_at=datetime(2026, 11, 23, 10, 0, tzinfo=prague)), source="/intake", now=T0
    )
    assert parse_event(event.to_json()).data.reported_at == T0  # type: ignore[attr-defined]


def _document(**changes: object) -> dict[str, object]:
    document: dict[str, object] = json.loads(
        new_event(reported(), source="/intake", now=T0).to_json()
    )
    document.update(changes)
    return document


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b"{not json", "message is not JSON"),
        (json.dumps(_document(type="incident.exploded.v1")), "unknown event type"),
        (json.dumps(_document(type="incident.reported.v2")), "unknown event type"),
        (json.dumps(_document(specversion="0.3")), "specversion"),
        (json.dumps(_document(time="2026-11-23T09:00:00")), "time"),
        (json.dumps(_document(subject="other")), "subject does not match"),
        (
            json.dumps({**_document(), "data": {**_document()["data"], "severity": "urgent"}}),  # type: ignore[dict-item]
            "severity",
        ),
        (json.dumps({k: v for k, v in _document().items() if k != "id"}), "id"),
    ],
)
def test_bad_messages_raise_an_error_naming_the_problem(raw: str | bytes, message: str) -> None:
    with pytest.raises(EventParseError, match=message):
        parse_event(raw)


def test_unknown_fields_are_ignored_so_producers_can_add_fields() -> None:
    document = _document()
    document["data"] = {**document["data"], "new_optional_field": 1}  # type: ignore[dict-item]
    assert parse_event(document).data == reported()
