"""Reference numbers (INC-000123) drawn from the database's sequence a block at a time, so a
group of reports seldom spends a round trip of its own on them (ServiceNow's number cache does
the same).

The price, with a block of more than one: numbers stay unique, but follow the order of creation
only within one process (each intake process draws blocks of its own), and what is left of a
block is skipped when the process stops, as numbers of rolled-back reports always were. A block
of 1 draws each group's numbers as it needs them.
"""

from sqlalchemy.ext.asyncio import AsyncSession

from intake import repository


class ReferenceNumbers:
    """The numbers this process has drawn and not handed out yet, ascending."""

    def __init__(self, block: int) -> None:
        if block < 1:
            raise ValueError("a block holds at least one number")
        self._block = block
        self._drawn: list[int] = []

    async def take(self, session: AsyncSession, *, count: int) -> list[int]:
        """`count` numbers, ascending; drawn in the session's transaction when too few are
        left (a sequence never gives a number twice, whether or not that transaction commits)."""
        if len(self._drawn) < count:
            missing = count - len(self._drawn)
            fresh = await repository.next_reference_numbers(
                session, count=missing + self._block - 1
            )
            # Two groups may draw at once, and their numbers interleave: keep them in order.
            self._drawn = sorted(self._drawn + fresh)
        taken, self._drawn = self._drawn[:count], self._drawn[count:]
        return taken
