"""Summaries of latency samples: percentiles and throughput, in milliseconds and per second."""

import statistics


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
