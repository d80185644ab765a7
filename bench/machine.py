"""The machine a result was measured on: CPU model, cores, memory, Python."""

import os
import platform
from pathlib import Path


def _first_value(path: str, prefix: str, separator: str | None) -> str | None:
    for line in Path(path).read_text().splitlines():
        if line.startswith(prefix):
            return line.split(separator, 1)[1].strip()
    return None


def machine() -> dict[str, object]:
    memory_kib = (_first_value("/proc/meminfo", "MemTotal", ":") or "0 kB").split()[0]
    cpu = _first_value("/proc/cpuinfo", "model name", ":") or platform.processor()
    return {
        "cpus": os.cpu_count(),
        "cpu_model": cpu,
        "memory_gib": round(int(memory_kib) / 2**20, 1),
        "python": platform.python_version(),
        "host": platform.node(),
    }
