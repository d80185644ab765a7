"""Where the local stack lives on disk: the repo root, the stack dir and every file in it."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

ROOT_MARKERS = ("uv.lock", ".git")


def find_repo_root(start: Path | None = None) -> Path:
    """The nearest directory at or above `start` (cwd, then this package) holding a root marker."""
    starts = [start] if start is not None else [Path.cwd(), Path(__file__).resolve().parent]
    for origin in starts:
        for candidate in (origin, *origin.parents):
            if any((candidate / marker).exists() for marker in ROOT_MARKERS):
                return candidate
    raise RuntimeError(f"no repository root (a directory with {' or '.join(ROOT_MARKERS)}) found")


@dataclass(frozen=True)
class StackPaths:
    """Every path the stack reads or writes, derived from one root directory."""

    root: Path

    @classmethod
    def discover(cls) -> StackPaths:
        explicit = os.environ.get("STACK_DIR")
        root = Path(explicit) if explicit else find_repo_root() / ".stack"
        return cls(root.resolve())

    @property
    def logs(self) -> Path:
        return self.root / "logs"

    @property
    def state_file(self) -> Path:
        return self.root / "state.json"

    @property
    def lock_file(self) -> Path:
        return self.root / "state.lock"

    @property
    def env_file(self) -> Path:
        return self.root / "stack.env"

    @property
    def kafka(self) -> Path:
        return self.root / "kafka"

    @property
    def postgres(self) -> Path:
        return self.root / "pg"

    @property
    def mail(self) -> Path:
        return self.root / "mail"

    def log(self, name: str) -> Path:
        return self.logs / f"{name}.log"

    def ensure(self) -> None:
        self.logs.mkdir(parents=True, exist_ok=True)
