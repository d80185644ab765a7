"""Reference numbers on the real database: an intake process draws them from the sequence a
block at a time (INTAKE_REFERENCE_BLOCK) and hands them out in order, so one report after
another gets the next number; a block of 1 draws each report's own."""

from typing import Any

import pytest
from integration.intake.support import RunningIntake, report_body
from sqlalchemy import text

pytestmark = pytest.mark.integration


async def references_of_three_reports(intake: RunningIntake) -> list[int]:
    numbers = []
    for n in range(3):
        # Each its own customer and title: three new incidents.
        body = report_body(title=f"Printer {n} offline", customer={"email": f"p{n}@example.com"})
        response = await intake.report(body)
        assert response.status_code == 201, response.text
        reference = response.json()["reference"]
        assert reference.startswith("INC-")
        numbers.append(int(reference.removeprefix("INC-")))
    return numbers


async def numbers_drawn(intake: RunningIntake) -> int:
    """How far the database's sequence has been drawn."""
    async with intake.engine.connect() as connection:
        query = "SELECT last_value FROM intake.incident_reference_seq"
        return int((await connection.execute(text(query))).scalar_one())


@pytest.mark.parametrize(
    ("intake_settings", "drawn"),
    [({"reference_block": 20}, 20), ({"reference_block": 1}, 3)],
    ids=["block-of-20", "block-of-1"],
)
async def test_numbers_are_handed_out_in_order_drawn_a_block_at_a_time(
    intake: RunningIntake, intake_settings: dict[str, Any], drawn: int
) -> None:
    numbers = await references_of_three_reports(intake)

    assert numbers == [1, 2, 3]
    # A block of 20: one draw, for all three and more; a block of 1: one per report.
    assert await numbers_drawn(intake) == drawn
