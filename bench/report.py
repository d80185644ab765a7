"""What every benchmark leaves: a result file in bench/results/ (benchmark, command, date,
machine, then its figures) and a table on the terminal."""

import json
import math
import os
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from bench.machine import machine

RESULTS = Path(__file__).resolve().parent / "results"


@dataclass(frozen=True)
class Table:
    title: str
    columns: tuple[str, ...]
    rows: list[tuple[object, ...]]
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Outcome:
    """A benchmark's figures (its result file) and the table that shows them."""

    benchmark: str
    figures: dict[str, object]
    table: Table


def render(table: Table) -> str:
    cells = [table.columns, *(tuple(_cell(value) for value in row) for row in table.rows)]
    widths = [max(len(row[i]) for row in cells) for i in range(len(table.columns))]
    lines = [
        "  ".join(text.rjust(width) for text, width in zip(row, widths, strict=True))
        for row in cells
    ]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join([table.title, *lines, *table.notes])


def _cell(value: object) -> str:
    if isinstance(value, float):
        return f"{value:,.2f}" if abs(value) < 100 else f"{value:,.0f}"
    return "-" if value is None else str(value)


def write_result(outcome: Outcome, *, command: str) -> Path:
    """bench/results/<UTC time>-<benchmark>.json; written whole or not at all."""
    now = datetime.now(UTC)
    result = {
        "benchmark": outcome.benchmark,
        "command": command,
        "date": now.isoformat(timespec="seconds"),
        "machine": machine(),
        **outcome.figures,
    }
    path = RESULTS / f"{now.strftime('%Y%m%dT%H%M%SZ')}-{outcome.benchmark}.json"
    partial = path.with_suffix(".tmp")
    partial.write_text(json.dumps(_without_nan(result), indent=2) + "\n")
    os.replace(partial, path)
    return path


def _without_nan(value: object) -> object:
    """NaN (a percentile of no samples) as null: JSON has no NaN, and jq and others reject it."""
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, dict):
        return {key: _without_nan(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_without_nan(item) for item in value]
    return value
