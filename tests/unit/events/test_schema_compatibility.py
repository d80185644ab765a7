"""The committed JSON Schemas: every event type has one, and changes stay compatible."""

import copy
from pathlib import Path

from incident_events import registered_types
from incident_events.schemas import breaking_changes, compatibility_report, current_schemas

SNAPSHOTS = Path(__file__).resolve().parents[3] / "libs" / "events" / "schemas"


def test_every_event_type_has_a_committed_schema() -> None:
    committed = {path.name.removesuffix(".json") for path in SNAPSHOTS.glob("*.json")}
    missing = set(registered_types()) - committed
    assert not missing, f"run: python -m incident_events.schemas export {SNAPSHOTS} ({missing})"


def test_live_schemas_are_compatible_with_the_committed_ones() -> None:
    assert compatibility_report(SNAPSHOTS) == []


def test_design_lists_every_fact() -> None:
    expected = {
        "incident.reported.v1",
        "incident.status_changed.v1",
        "incident.commented.v1",
        "incident.resolved.v1",
        "incident.reopened.v1",
        "incident.severity_changed.v1",
        "assignment.offered.v1",
        "assignment.accepted.v1",
        "assignment.declined.v1",
        "incident.assigned.v1",
        "assignment.queued.v1",
        "sla.clock_started.v1",
        "sla.warning.v1",
        "sla.breached.v1",
        "sla.met.v1",
        "sla.update_due.v1",
        "incident.escalated.v1",
        "compensation.granted.v1",
        "notification.delivered.v1",
        "notification.failed.v1",
        "survey.answered.v1",
    }
    assert expected <= set(registered_types())


def _schema() -> dict[str, object]:
    return copy.deepcopy(current_schemas()["incident.assigned.v1"])


def _data(schema: dict[str, object]) -> dict[str, object]:
    return schema["$defs"]["IncidentAssigned"]  # type: ignore[index,no-any-return]


def test_removing_a_field_is_breaking() -> None:
    new = _schema()
    del _data(new)["properties"]["agent_id"]  # type: ignore[attr-defined]
    assert "$defs.IncidentAssigned.agent_id: removed" in breaking_changes(_schema(), new)


def test_retyping_a_field_is_breaking() -> None:
    new = _schema()
    _data(new)["properties"]["agent_id"] = {"type": "integer"}  # type: ignore[index]
    assert "$defs.IncidentAssigned.agent_id: type changed" in breaking_changes(_schema(), new)


def test_a_new_required_field_is_breaking() -> None:
    new = _schema()
    _data(new)["properties"]["team_size"] = {"type": "integer"}  # type: ignore[index]
    _data(new)["required"].append("team_size")  # type: ignore[attr-defined]
    assert "$defs.IncidentAssigned.team_size: newly required" in breaking_changes(_schema(), new)


def test_a_new_optional_field_is_compatible() -> None:
    new = _schema()
    _data(new)["properties"]["team_size"] = {"type": "integer"}  # type: ignore[index]
    assert breaking_changes(_schema(), new) == []
