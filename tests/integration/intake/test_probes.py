"""Intake's probes: alive, and ready on PostgreSQL alone (it takes reports while Kafka is away;
the kit's tests show a failing check that is not needed leaving the verdict alone)."""

import pytest
from integration.intake.support import RunningIntake

pytestmark = pytest.mark.integration


async def test_intake_is_alive_and_needs_only_postgresql_to_be_ready(
    intake: RunningIntake,
) -> None:
    alive = await intake.client.get("/healthz")
    assert (alive.status_code, alive.json()) == (200, {"status": "ok"})
    ready = await intake.client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json() == {
        "status": "ready",
        "checks": {"postgresql": True, "kafka": True},
        "needs": ["postgresql"],
    }
