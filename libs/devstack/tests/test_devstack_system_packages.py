"""tools/system-packages.sh where it cannot install: it names what is missing and stops."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from incident_devstack.paths import find_repo_root

SCRIPT = find_repo_root(Path(__file__).resolve().parent) / "tools" / "system-packages.sh"
# What the script itself runs; everything else (java, mvn, apt-get, ...) is left out of PATH.
BASICS = ("bash", "sed", "head", "id")


def _bare_path(tmp_path: Path) -> Path:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name in BASICS:
        found = shutil.which(name)
        assert found is not None
        (bin_dir / name).symlink_to(found)
    return bin_dir


def _run(bin_dir: Path, what: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PATH": str(bin_dir)}
    command = [str(bin_dir / "bash"), str(SCRIPT), what]
    return subprocess.run(command, env=env, capture_output=True, text=True, check=False)


@pytest.mark.parametrize("what", ["stack", "test"])
def test_without_apt_get_it_names_what_to_install(tmp_path: Path, what: str) -> None:
    done = _run(_bare_path(tmp_path), what)
    assert done.returncode == 1
    assert "Java 17 or newer (java)" in done.stderr and "Maven (mvn)" in done.stderr
    server_elsewhere = any(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"))
    assert ("PostgreSQL 15 server" in done.stderr) != server_elsewhere
    assert ("promtool" in done.stderr) == (what == "test")


def test_a_java_older_than_17_counts_as_missing(tmp_path: Path) -> None:
    bin_dir = _bare_path(tmp_path)
    java = bin_dir / "java"
    java.write_text("#!/bin/sh\necho 'openjdk version \"11.0.22\" 2024-01-16' >&2\n")
    java.chmod(0o755)
    assert "Java 17 or newer" in _run(bin_dir, "stack").stderr
    java.write_text("#!/bin/sh\necho 'openjdk version \"17.0.15\" 2025-04-15' >&2\n")
    assert "Java 17 or newer" not in _run(bin_dir, "stack").stderr
