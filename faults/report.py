"""What a suite leaves: a table on the terminal, with the details of every failure under it, and
`faults/results/<UTC time>-<suite>.json` with every figure and id."""

import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.machine import machine
from bench.report import Table, render
from faults.checks import EFFECTS
from faults.runner import ScenarioResult

RESULTS = Path(__file__).resolve().parent / "results"
SHOWN_IDS = 5
COLUMNS = (
    "scenario",
    "fault",
    "sent",
    "acked",
    "retried",
    "acked 200",
    "HTTP 500",
    "lost " + "/".join(e[0] for e in EFFECTS),
    "dup " + "/".join(e[0] for e in EFFECTS),
    "mail resends",
    "extra DLQ",
    "poison parked",
    "recovery s",
    "ok",
)
LEGEND = "effects: " + ", ".join(f"{e[0]} = {e}" for e in EFFECTS)


def table(results: list[ScenarioResult], *, title: str) -> str:
    rows = [_row(result) for result in results]
    notes = [LEGEND, "recovery: from the fault lifted (restart begun) until everything settled"]
    for result in results:
        notes += [f"  {result.scenario}: {problem}" for problem in problems(result)]
    return render(Table(title, COLUMNS, rows, notes))


def _row(result: ScenarioResult) -> tuple[object, ...]:
    verdict = result.verdict
    return (
        result.scenario,
        result.fault,
        result.sent,
        result.acknowledged,
        result.retried,
        result.acknowledged_with_200,
        result.attempts.get("500", 0),
        "/".join(str(len(verdict.lost[e])) for e in EFFECTS),
        "/".join(str(len(verdict.duplicated[e])) for e in EFFECTS),
        verdict.mail_resends,
        len(verdict.extra_dead_letters),
        verdict.poison_parked,
        result.recovery_s if result.settled else "not settled",
        "yes" if result.ok else "NO",
    )


def problems(result: ScenarioResult) -> list[str]:
    """Each failure of a scenario in words, with the first few incident ids it concerns."""
    verdict, found = result.verdict, []
    if result.error:
        found.append(f"error: {result.error}")
    if not result.settled:
        found.append(f"did not settle; still waiting for {result.waiting_for}")
    if result.abandoned:
        found.append(f"{len(result.abandoned)} POSTs never answered 2xx: {_some(result.abandoned)}")
    for kind, by_effect in (("lost", verdict.lost), ("duplicated", verdict.duplicated)):
        found += [f"{e} {kind} for {_some(ids)}" for e, ids in by_effect.items() if ids]
    for letter in verdict.extra_dead_letters:
        found.append(f"dead letter on {letter.topic} by {letter.group}: {letter.error_class}")
    found += [f"poison not dead-lettered: {item}" for item in verdict.poison_not_parked]
    if result.rejected:
        found.append(f"{len(result.rejected)} POSTs rejected: {_some(list(result.rejected))}")
    return found


def _some(ids: list[str]) -> str:
    more = f" and {len(ids) - SHOWN_IDS} more" if len(ids) > SHOWN_IDS else ""
    return ", ".join(ids[:SHOWN_IDS]) + more


def write_result(
    results: list[ScenarioResult],
    *,
    suite: str,
    command: str,
    parameters: dict[str, Any],
    directory: Path = RESULTS,
) -> Path:
    """<directory>/<UTC time>-<suite>.json; written whole or not at all."""
    now = datetime.now(UTC)
    document = {
        "suite": suite,
        "command": command,
        "date": now.isoformat(timespec="seconds"),
        "machine": machine(),
        "parameters": parameters,
        "ok": all(result.ok for result in results),
        "scenarios": [result.to_json() for result in results],
    }
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{now.strftime('%Y%m%dT%H%M%SZ')}-{suite}.json"
    partial = path.with_suffix(".tmp")
    partial.write_text(json.dumps(document, indent=2, default=str) + "\n")
    os.replace(partial, path)
    return path
