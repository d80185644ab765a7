"""The PostgreSQL server programs (initdb, pg_ctl): on PATH, else where Debian puts them.

Debian's postgresql-NN packages install them in /usr/lib/postgresql/NN/bin, which is
not on PATH; among those, version 15 (the project's) comes first, then the newest.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from incident_devstack.processes import StackError

DEBIAN_ROOT = Path("/usr/lib/postgresql")
PREFERRED_VERSION = "15"


def _debian_bin_dirs(root: Path) -> list[Path]:
    versions = [d.name for d in root.iterdir() if d.name.isdigit()] if root.is_dir() else []
    versions.sort(key=lambda v: (v != PREFERRED_VERSION, -int(v)))
    return [root / version / "bin" for version in versions]


def server_bin_dir(debian_root: Path = DEBIAN_ROOT) -> Path:
    """One directory holding initdb and pg_ctl, so both are of the same version."""
    on_path = shutil.which("pg_ctl")
    # Resolved: a symlink on PATH (/usr/local/bin/pg_ctl) stands for the real install.
    candidates = [Path(on_path).resolve().parent] if on_path else []
    for directory in [*candidates, *_debian_bin_dirs(debian_root)]:
        if all(os.access(directory / name, os.X_OK) for name in ("initdb", "pg_ctl")):
            return directory
    raise StackError(
        "the PostgreSQL server programs (initdb, pg_ctl) are neither on PATH nor in "
        f"{debian_root}/<version>/bin: install the PostgreSQL 15 server "
        "(Debian/Ubuntu: `tools/system-packages.sh stack` installs postgresql-15)"
    )


def server_program(name: str) -> str:
    return str(server_bin_dir() / name)
