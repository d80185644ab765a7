"""The short fault suite on the local stack (`python -m faults --short`): intake killed under
load, poison on every topic, a short SMTP outage; nothing acknowledged may be lost or doubled.

It brings the stack up as it needs and stops afterwards only what it had to start."""

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

pytestmark = [pytest.mark.e2e]


@pytest.mark.timeout(900)  # a cold start of the stack takes a minute; the suite about two
def test_nothing_acknowledged_is_lost_or_doubled(tmp_path: Path) -> None:
    arguments = ["--short", "--restore", "--results-dir", str(tmp_path)]
    done = subprocess.run(
        [sys.executable, "-m", "faults", *arguments],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, f"{done.stdout}\n{done.stderr}"
