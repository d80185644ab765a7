"""Where the local PostgreSQL cluster lives, and the OS user that runs it.

PostgreSQL refuses to run as root, so as root every server command runs as the
`postgres` OS user (runuser). That user must be able to enter the cluster's
directory: it is `.stack/pg` when it can, else (a checkout under /root or in a
0700 temp dir) a per-checkout directory under /var/tmp named by a hash of the
stack dir, recorded in state.json so every later command finds the same cluster.
"""

from __future__ import annotations

import hashlib
import os
import pwd
import stat
import subprocess
from pathlib import Path

from incident_devstack.paths import StackPaths
from incident_devstack.processes import StackError
from incident_devstack.state import StackState

OS_USER = "postgres"
OUTSIDE_PARENT = Path("/var/tmp")


def running_as_root() -> bool:
    return os.geteuid() == 0


def as_cluster_owner(argv: list[str]) -> list[str]:
    return ["runuser", "-u", OS_USER, "--", *argv] if running_as_root() else argv


def _owner() -> pwd.struct_passwd:
    try:
        return pwd.getpwnam(OS_USER)
    except KeyError:
        raise StackError(
            f"PostgreSQL refuses to run as root, and there is no `{OS_USER}` OS user to run it "
            "as: install the PostgreSQL server package (it creates that user) or run as a "
            "user other than root"
        ) from None


def give_to_cluster_owner(path: Path) -> None:
    if running_as_root():
        owner = _owner()
        os.chown(path, owner.pw_uid, owner.pw_gid)


def owner_can_enter(directory: Path) -> bool:
    """Whether the cluster's OS user may pass through every directory down to `directory`."""
    if not running_as_root():
        return True
    _owner()
    # Only the user itself can tell: group membership and ACLs count too.
    probe = as_cluster_owner(["test", "-x", str(directory)])
    return subprocess.run(probe, cwd="/", check=False).returncode == 0


def outside_home(paths: StackPaths) -> Path:
    digest = hashlib.sha256(str(paths.root).encode()).hexdigest()[:16]
    return OUTSIDE_PARENT / f"incident-devstack-{digest}"


def recorded_home(paths: StackPaths, state: StackState) -> Path:
    """The directory of the cluster's data/ and run/ as chosen before (or the default)."""
    return Path(state.postgres_home) if state.postgres_home else paths.postgres


def choose_home(paths: StackPaths, state: StackState) -> Path:
    """recorded_home, or outside the checkout when the cluster's owner cannot enter it."""
    if state.postgres_home:
        return Path(state.postgres_home)
    paths.root.mkdir(parents=True, exist_ok=True)
    if owner_can_enter(paths.root):
        return paths.postgres
    if (paths.postgres / "data" / "PG_VERSION").exists():
        raise StackError(
            f"the `{OS_USER}` OS user cannot enter {paths.root}, which holds the stack's "
            f"cluster: `make clean` drops it (the next start makes one under {OUTSIDE_PARENT}), "
            "or let that user through (chmod o+x on each directory above it)"
        )
    state.postgres_home = str(outside_home(paths))
    return Path(state.postgres_home)


def is_outside_home(home: Path) -> bool:
    """Whether `home` is a directory outside_home made (what `clean` may delete)."""
    return home.parent == OUTSIDE_PARENT and home.name.startswith("incident-devstack-")


def prepare_home(home: Path) -> None:
    """Create `home` for the cluster's owner; refuse one that someone else made or owns."""
    try:
        home.mkdir(mode=0o700, parents=True)
        give_to_cluster_owner(home)
    except FileExistsError:
        pass  # checked below: under world-writable /var/tmp anyone may have made it
    except OSError as error:
        raise StackError(f"cannot create the PostgreSQL directory {home}: {error}") from None
    info = home.lstat()
    expected = _owner().pw_uid if running_as_root() else os.geteuid()
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != expected:
        raise StackError(
            f"{home} is not a directory of uid {expected}; remove it, then start the stack again"
        )
