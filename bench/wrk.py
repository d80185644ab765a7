"""Closed-loop HTTP load with wrk, a load generator in C, so the load takes little of the CPU
the server under test needs: N connections, each sending its next request once answered."""

import asyncio
import json
import math
import os
import resource
import shutil
from dataclasses import dataclass
from pathlib import Path

SCRIPT = Path(__file__).with_name("report_incident.lua")
MARKER = "BENCH_RESULT "


class WrkMissing(RuntimeError):
    """wrk is not installed."""


@dataclass(frozen=True)
class WrkRun:
    """What one wrk run counted; latencies are wrk's, from request sent to answer read."""

    seconds: float
    requests: int
    created: int  # 201: a new incident
    repeated: int  # 200: intake took it for a repeat of an earlier one
    other_status: int
    connect_errors: int
    read_errors: int
    write_errors: int
    timeouts: int
    p50_ms: float
    p99_ms: float
    max_ms: float
    wrk_cpu_seconds: float

    @property
    def errors(self) -> int:
        """Answers other than 201, and requests that got no answer."""
        failed = self.connect_errors + self.read_errors + self.write_errors + self.timeouts
        return self.repeated + self.other_status + failed

    @property
    def created_per_second(self) -> float:
        return self.created / self.seconds


async def run_wrk(
    url: str, *, seconds: float, connections: int, api_key: str, run_id: str, skill: str
) -> WrkRun:
    """POST a new incident per request to `url` for `seconds` (whole seconds, rounded up)."""
    wrk = shutil.which("wrk")
    if wrk is None:
        raise WrkMissing("wrk is not installed: `apt-get install wrk` (`make bench` does it)")
    argv = [wrk, "-t1", f"-c{connections}", f"-d{math.ceil(seconds)}s", "--timeout", "10s"]
    argv += ["-s", str(SCRIPT), url, "--", run_id, skill]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    process = await asyncio.create_subprocess_exec(
        *argv,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=os.environ | {"BENCH_API_KEY": api_key},
    )
    out, err = await process.communicate()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    return parse_wrk_output(out.decode(), err.decode(), wrk_cpu_seconds=cpu)


def parse_wrk_output(out: str, err: str, *, wrk_cpu_seconds: float) -> WrkRun:
    lines = [line for line in out.splitlines() if line.startswith(MARKER)]
    if not lines:
        raise RuntimeError(f"wrk printed no result\n{out}\n{err}")
    raw: dict[str, float] = json.loads(lines[-1].removeprefix(MARKER))
    return WrkRun(
        seconds=raw["duration_us"] / 1e6,
        requests=int(raw["requests"]),
        created=int(raw["created"]),
        repeated=int(raw["repeated"]),
        other_status=int(raw["other_status"]),
        connect_errors=int(raw["connect_errors"]),
        read_errors=int(raw["read_errors"]),
        write_errors=int(raw["write_errors"]),
        timeouts=int(raw["timeouts"]),
        p50_ms=raw["p50_us"] / 1000,
        p99_ms=raw["p99_us"] / 1000,
        max_ms=raw["max_us"] / 1000,
        wrk_cpu_seconds=wrk_cpu_seconds,
    )
