"""`make bench`: baseline and system measured in one run, written to bench/results/*.json."""

import argparse
import asyncio
import json
import os
import platform
import shlex
import sys
from datetime import UTC, datetime
from pathlib import Path

from bench.baseline import raw_round_trip
from bench.pipeline import post_to_assigned

ROOT = Path(__file__).resolve().parent.parent


def stack_env() -> dict[str, str]:
    path = ROOT / ".stack" / "stack.env"
    if not path.exists():
        sys.exit("no running stack: run `make up` first (.stack/stack.env is missing)")
    pairs = (line.split("=", 1) for line in path.read_text().splitlines() if "=" in line)
    return {key: shlex.split(value)[0] if value else "" for key, value in pairs} | {
        key: value
        for key, value in os.environ.items()
        if key.endswith(("_URL", "API_KEY")) and key in {"INTAKE_URL", "ROUTER_URL", "API_KEY"}
    }


def machine() -> dict[str, object]:
    memory = next(
        (
            line.split()[1]
            for line in Path("/proc/meminfo").read_text().splitlines()
            if line.startswith("MemTotal")
        ),
        "0",
    )
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    return {
        "cpus": os.cpu_count(),
        "cpu_model": cpu,
        "memory_gib": round(int(memory) / 2**20, 1),
        "python": platform.python_version(),
        "host": platform.node(),
    }


async def run(arguments: argparse.Namespace) -> dict[str, object]:
    env = stack_env()
    baseline = await raw_round_trip(
        env["KAFKA_BOOTSTRAP_SERVERS"], count=arguments.count, rate=arguments.rate
    )
    system = await post_to_assigned(
        env,
        count=arguments.count,
        rate=arguments.rate,
        agents=arguments.agents,
        warmup=arguments.warmup,
    )
    return {
        "command": f"make bench BENCH_COUNT={arguments.count} BENCH_RATE={arguments.rate:g}",
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "parameters": {
            "count": arguments.count,
            "rate_per_second": arguments.rate,
            "warmup_count": arguments.warmup,
        },
        "baseline_raw_aiokafka_round_trip": baseline,
        "system_post_to_assigned": system,
        "ratio_p50_system_to_baseline": round(system["p50_ms"] / baseline["p50_ms"], 1),
        "ratio_p99_system_to_baseline": round(system["p99_ms"] / baseline["p99_ms"], 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(prog="make bench")
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--rate", type=float, default=15)
    parser.add_argument("--agents", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=250, help="incidents posted unmeasured first")
    arguments = parser.parse_args()
    result = asyncio.run(run(arguments))
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    path = ROOT / "bench" / "results" / f"{stamp}.json"
    path.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    print(f"written to {path.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
