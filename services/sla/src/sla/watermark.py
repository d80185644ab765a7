"""When a clock's moment is settled: the time up to which every event that could stop the clock
has been applied. The timer fires warnings and breaches only up to it, so a reply or resolution
still waiting in Kafka (after downtime, or while the consumer lags) stops the clock instead of
being beaten to it. Pure; the timer feeds it what Kafka says.

The watermark is a snapshot of offsets, not a maximum of event times. At a moment `t` of the
timer's time (PostgreSQL's now() in production) the end offsets of every partition of
`incidents` are read; once the consumer group's committed offsets reach them, every event
published before `t` has been applied, because the kit commits offsets only after the batch's
database transaction. Moments up to `t - grace` are then settled. The grace
(SLA_WATERMARK_GRACE_SECONDS, 5 s) is how long after its own time an event may take to reach
Kafka: intake's outbox relay, clock skew between intake and the database. A stop later than
that still comes, and retracts the breach with a fact (domain.stop).

Partitions without traffic never block: their end does not move, so a snapshot is reached at
once, and a partition with no records at all is not waited for. So with no traffic a clock
breaches `grace` after its due moment by the database's clock. Under steady traffic the group
is rarely at the very end when the timer looks, so the oldest snapshot not yet reached is kept
until the group passes it: moments settle after the consumer's lag, and never starve.

Why not the highest event time applied per partition, kept in a table: a handler is given its
event, not its partition, and a maximum over the whole topic is wrong when partitions lag
unevenly (a caught-up partition would release the clocks of a lagging one).
"""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True)
class Snapshot:
    """The topic's end offsets, read just after `taken_at`: every event published before that
    moment lies below them."""

    taken_at: datetime
    # Per partition holding records, the offset the group must commit to have applied them all.
    ends: Mapping[int, int]

    def reached_by(self, committed: Mapping[int, int]) -> bool:
        return all(committed.get(partition, -1) >= end for partition, end in self.ends.items())


def snapshot(
    taken_at: datetime, *, beginnings: Mapping[int, int], ends: Mapping[int, int]
) -> Snapshot:
    """A partition with no record left (none yet, or all expired) has nothing to wait for, even
    if the group never committed an offset there."""
    waiting = {p: end for p, end in ends.items() if end > beginnings.get(p, 0)}
    return Snapshot(taken_at, waiting)


@dataclass(frozen=True)
class Watermark:
    """How far the consumer is known to have applied the topic, in the timer's time."""

    # Every event published before this moment has been applied; None until first known.
    applied_through: datetime | None = None
    # The oldest snapshot not yet reached, kept so a lagging consumer still makes progress.
    pending: Snapshot | None = None

    def advance(self, fresh: Snapshot, committed: Mapping[int, int]) -> "Watermark":
        """Check a fresh snapshot, and the pending one, against the group's committed offsets
        (read after the fresh snapshot's ends)."""
        if fresh.reached_by(committed):
            return Watermark(self._later(fresh.taken_at), None)
        if self.pending is not None and self.pending.reached_by(committed):
            return Watermark(self._later(self.pending.taken_at), fresh)
        return Watermark(self.applied_through, self.pending or fresh)

    def settled(self, grace: timedelta) -> datetime | None:
        """Moments up to this one may fire; None while nothing is known."""
        return None if self.applied_through is None else self.applied_through - grace

    def waits_for_kafka(self, earliest: datetime | None, now: datetime, grace: timedelta) -> bool:
        """Whether a clock's earliest moment (warning or due) is past by more than the grace but
        not yet settled, so the consumer's progress must be read; else Kafka is not asked."""
        if earliest is None or earliest > now - grace:
            return False
        settled = self.settled(grace)
        return settled is None or earliest > settled

    def _later(self, moment: datetime) -> datetime:
        # Never backwards, even should a round be given an earlier time (tests do).
        return moment if self.applied_through is None else max(self.applied_through, moment)
