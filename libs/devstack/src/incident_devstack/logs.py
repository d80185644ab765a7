"""Following several log files at once, like `tail -F`, each line prefixed with its source."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

POLL_INTERVAL_S = 0.2
BACKLOG_LINES = 10


@dataclass
class _Followed:
    path: Path
    label: str
    inode: int | None = None
    offset: int = 0
    partial: bytes = b""


def _start_offset(path: Path, backlog_lines: int) -> int:
    """Offset from which the last `backlog_lines` lines of `path` begin."""
    data = path.read_bytes()
    cut = len(data)
    for _ in range(backlog_lines + 1):
        cut = data.rfind(b"\n", 0, cut)
        if cut < 0:
            return 0
    return cut + 1


def _read_new(followed: _Followed) -> list[str]:
    """Complete lines appended since the last read; starts over when the file was replaced."""
    try:
        stat = followed.path.stat()
    except FileNotFoundError:
        return []
    if stat.st_ino != followed.inode or stat.st_size < followed.offset:
        # New, recreated or truncated: read it from the start, as tail -F does.
        first_time = followed.inode is None
        followed.inode, followed.partial = stat.st_ino, b""
        followed.offset = _start_offset(followed.path, BACKLOG_LINES) if first_time else 0
    with followed.path.open("rb") as handle:
        handle.seek(followed.offset)
        chunk = handle.read()
    followed.offset += len(chunk)
    *lines, followed.partial = (followed.partial + chunk).split(b"\n")
    return [line.decode(errors="replace") for line in lines]


def follow(
    paths: Sequence[Path], out: TextIO, *, until: Callable[[], bool] = lambda: False
) -> None:
    """Print new lines of every file in `paths` to `out` until `until()` or Ctrl-C."""
    width = max((len(p.stem) for p in paths), default=0)
    followed = [_Followed(path, path.stem.ljust(width)) for path in paths]
    while True:
        for source in followed:
            for line in _read_new(source):
                out.write(f"{source.label} | {line}\n")
        out.flush()
        if until():
            return
        time.sleep(POLL_INTERVAL_S)
