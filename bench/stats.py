"""Summaries of latency samples (percentiles and throughput, in milliseconds and per second),
and of counters read before and after a run (their growth per incident)."""

import statistics
from dataclasses import asdict
from typing import Any


def percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))
    return ordered[index]


def summarize(latencies_seconds: list[float], elapsed_seconds: float) -> dict[str, float]:
    milliseconds = [value * 1000 for value in latencies_seconds]
    return {
        "count": len(milliseconds),
        "throughput_per_second": round(len(milliseconds) / elapsed_seconds, 1),
        "p50_ms": round(percentile(milliseconds, 0.50), 2),
        "p95_ms": round(percentile(milliseconds, 0.95), 2),
        "p99_ms": round(percentile(milliseconds, 0.99), 2),
        "mean_ms": round(statistics.fmean(milliseconds), 2) if milliseconds else float("nan"),
    }


def growth_per_incident(before: Any, after: Any, *, incidents: int) -> dict[str, float]:
    """Each count's growth from `before` to `after` (one dataclass of counts read twice), per
    incident; a count left out when it is unknown (None) at either end."""
    start = asdict(before)
    grown = {
        name: value - start[name]
        for name, value in asdict(after).items()
        if value is not None and start[name] is not None
    }
    return {name: round(value / max(incidents, 1), 2) for name, value in grown.items()}
