"""JSON Schema export of every event type, and the compatibility check against snapshots.

`python -m incident_events.schemas export DIR` writes one file per event type; the tests compare
the live schemas with the committed ones and fail on a breaking change.
"""

import json
import sys
from pathlib import Path
from typing import Any

from incident_events.envelope import Event, registered_types


def current_schemas() -> dict[str, dict[str, Any]]:
    """The JSON Schema of each full event (envelope plus typed data), by event type."""
    return {
        event_type: Event[data_class].model_json_schema()  # type: ignore[valid-type]
        for event_type, data_class in sorted(registered_types().items())
    }


def export(directory: Path) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for event_type, schema in current_schemas().items():
        path = directory / f"{event_type}.json"
        path.write_text(json.dumps(schema, indent=2, sort_keys=True) + "\n")
        written.append(path)
    return written


def load_snapshots(directory: Path) -> dict[str, dict[str, Any]]:
    return {
        path.name.removesuffix(".json"): json.loads(path.read_text())
        for path in sorted(directory.glob("*.json"))
    }


def breaking_changes(old: dict[str, Any], new: dict[str, Any], where: str = "") -> list[str]:
    """What in `new` breaks readers or writers of `old`: removed, retyped or newly required."""
    problems: list[str] = []
    old_definitions = old.get("$defs", {})
    new_definitions = new.get("$defs", {})
    problems += _compare_object(old, new, where or "(root)")
    for name, old_definition in old_definitions.items():
        new_definition = new_definitions.get(name)
        if new_definition is None:
            continue  # A renamed definition shows up as a retyped field where it was used.
        problems += _compare_object(old_definition, new_definition, f"$defs.{name}")
    return problems


def _compare_object(old: dict[str, Any], new: dict[str, Any], where: str) -> list[str]:
    problems = []
    old_properties = old.get("properties", {})
    new_properties = new.get("properties", {})
    for field, old_field in old_properties.items():
        if field not in new_properties:
            problems.append(f"{where}.{field}: removed")
        elif _shape(old_field) != _shape(new_properties[field]):
            problems.append(f"{where}.{field}: type changed")
    for field in set(new.get("required", [])) - set(old.get("required", [])):
        problems.append(f"{where}.{field}: newly required")
    if old.get("enum") and not set(old["enum"]) <= set(new.get("enum", [])):
        problems.append(f"{where}: enum values removed")
    return problems


def _shape(field: dict[str, Any]) -> Any:
    """The part of a field schema that decides its wire type (not titles or descriptions)."""
    keys = ("type", "$ref", "format", "const", "items", "anyOf", "allOf")
    return json.dumps({key: field.get(key) for key in keys if key in field}, sort_keys=True)


def compatibility_report(snapshot_dir: Path) -> list[str]:
    """Every breaking change between the committed snapshots and the live schemas."""
    live = current_schemas()
    problems = []
    for event_type, old in load_snapshots(snapshot_dir).items():
        if event_type not in live:
            problems.append(f"{event_type}: event type removed (publish a new .vN instead)")
            continue
        problems += [f"{event_type}: {p}" for p in breaking_changes(old, live[event_type])]
    return problems


def main(argv: list[str]) -> int:
    if len(argv) != 2 or argv[0] not in {"export", "check"}:
        print("usage: python -m incident_events.schemas export|check DIR", file=sys.stderr)
        return 2
    directory = Path(argv[1])
    if argv[0] == "export":
        problems = compatibility_report(directory) if directory.exists() else []
        if problems:
            print("refusing to overwrite: breaking changes\n" + "\n".join(problems))
            return 1
        for path in export(directory):
            print(path)
        return 0
    problems = compatibility_report(directory)
    print("\n".join(problems) or "compatible")
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
