"""SLA clocks, pure: when each clock is due, when it warns, breaches or is met, what it says.

Every function takes state and `now` and returns the new state with the facts to publish; none
reads the time, touches the database or publishes.
"""

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum
from uuid import UUID, uuid5

from incident_events import EventData
from incident_events.sla import SlaBreached, SlaBreachRetracted, SlaClockStarted, SlaMet, SlaWarning
from incident_events.types import SlaMetric

from sla.calendars import TWENTY_FOUR_SEVEN, Calendar
from sla.domain.policies import Incident, Policy

# Clock ids derive from (incident, metric): the same incident always gets the same clock ids.
CLOCK_NAMESPACE = UUID("5b0c8f3e-6a43-4d1e-9a52-2f0d8c1e7a10")
CLOCK_METRICS = (SlaMetric.FIRST_RESPONSE, SlaMetric.RESOLUTION)


class ClockStatus(StrEnum):
    RUNNING = "running"
    MET = "met"
    BREACHED = "breached"


@dataclass(frozen=True)
class SlaClock:
    """One target of one incident, counting down from started_at to due_at."""

    clock_id: str
    incident_id: str
    metric: SlaMetric
    policy_id: str
    calendar: str
    target_seconds: int
    started_at: datetime
    due_at: datetime
    # The policy's warnings are copied in, so editing a policy never changes a running clock.
    warn_at_percent: tuple[int, ...] = ()
    status: ClockStatus = ClockStatus.RUNNING
    warned_percents: tuple[int, ...] = ()
    next_fire_at: datetime | None = None  # the next warning or the due moment while running
    stopped_at: datetime | None = None
    correlation_id: str | None = None  # of the flow that started it, for the timer's facts


@dataclass(frozen=True)
class Outcome:
    """The clocks created or changed, and the facts to publish about them, in order."""

    clocks: tuple[SlaClock, ...] = ()
    events: tuple[EventData, ...] = ()


def start_clocks(
    incident: Incident,
    policy: Policy,
    now: datetime,
    *,
    calendar: Calendar = TWENTY_FOUR_SEVEN,
    correlation_id: str | None = None,
) -> Outcome:
    """A first-response and a resolution clock, each due `target` of calendar time from now."""
    clocks = tuple(
        _new_clock(incident.incident_id, metric, policy, now, calendar, correlation_id)
        for metric in CLOCK_METRICS
    )
    events = tuple(
        SlaClockStarted(
            incident_id=clock.incident_id,
            clock_id=clock.clock_id,
            metric=clock.metric,
            policy_id=clock.policy_id,
            target_seconds=clock.target_seconds,
            started_at=clock.started_at,
            due_at=clock.due_at,
        )
        for clock in clocks
    )
    return Outcome(clocks, events)


def fire(
    clock: SlaClock,
    now: datetime,
    *,
    settled: datetime | None = None,
    calendar: Calendar = TWENTY_FOUR_SEVEN,
) -> Outcome:
    """Warn once for each percentage crossed, and breach once due_at is reached, by `settled`:
    the moment up to which every event that could stop the clock is applied (by default, and
    at most, `now`). The facts are stamped `now`."""
    if clock.status is not ClockStatus.RUNNING:
        return Outcome((clock,))
    horizon = now if settled is None else min(now, settled)
    crossed = sorted(
        p
        for p in clock.warn_at_percent
        if p not in clock.warned_percents and warning_moment(clock, p, calendar) <= horizon
    )
    warnings = tuple(
        SlaWarning(
            incident_id=clock.incident_id,
            clock_id=clock.clock_id,
            metric=clock.metric,
            percent=percent,
            due_at=clock.due_at,
            warned_at=now,
        )
        for percent in crossed
    )
    warned = replace(clock, warned_percents=tuple(sorted({*clock.warned_percents, *crossed})))
    if clock.due_at > horizon:
        return Outcome((replace(warned, next_fire_at=next_fire_at(warned, calendar)),), warnings)
    breached = replace(warned, status=ClockStatus.BREACHED, next_fire_at=None)
    return Outcome((breached,), (*warnings, _breach(breached, now)))


def stop(clocks: Iterable[SlaClock], metric: SlaMetric, now: datetime) -> Outcome:
    """Stop the incident's `metric` clock at `now`, the moment of the reply or resolution: met
    before due (retracting a breach announced before this stop was known); else breached."""
    clock = next((c for c in clocks if c.metric == metric), None)
    if clock is None or clock.stopped_at is not None:
        return Outcome()
    if clock.status is ClockStatus.BREACHED and now < clock.due_at:
        return _retract(clock, now)
    if clock.status is ClockStatus.BREACHED:
        return Outcome((replace(clock, stopped_at=now),))  # already announced; only record it
    if now < clock.due_at:
        met = replace(clock, status=ClockStatus.MET, stopped_at=now, next_fire_at=None)
        event = SlaMet(
            incident_id=met.incident_id,
            clock_id=met.clock_id,
            metric=met.metric,
            due_at=met.due_at,
            met_at=now,
        )
        return Outcome((met,), (event,))
    breached = replace(clock, status=ClockStatus.BREACHED, stopped_at=now, next_fire_at=None)
    return Outcome((breached,), (_breach(breached, now),))


def warning_moment(clock: SlaClock, percent: int, calendar: Calendar) -> datetime:
    return calendar.add(clock.started_at, timedelta(seconds=clock.target_seconds * percent / 100))


def next_fire_at(clock: SlaClock, calendar: Calendar) -> datetime | None:
    """When the timer must next look at the clock: its next warning, else its due moment."""
    if clock.status is not ClockStatus.RUNNING:
        return None
    pending = [
        warning_moment(clock, p, calendar)
        for p in clock.warn_at_percent
        if p not in clock.warned_percents
    ]
    return min([clock.due_at, *pending])


def time_to_breach(clock: SlaClock, now: datetime) -> float | None:
    """Seconds left before due (negative once breached); None for a clock that was met."""
    if clock.status is ClockStatus.MET:
        return None
    return (clock.due_at - (clock.stopped_at or now)).total_seconds()


def _new_clock(
    incident_id: str,
    metric: SlaMetric,
    policy: Policy,
    now: datetime,
    calendar: Calendar,
    correlation_id: str | None,
) -> SlaClock:
    target = policy.target_seconds(metric)
    clock = SlaClock(
        clock_id=str(uuid5(CLOCK_NAMESPACE, f"{incident_id}/{metric}")),
        incident_id=incident_id,
        metric=metric,
        policy_id=policy.policy_id,
        calendar=policy.calendar,
        target_seconds=target,
        started_at=now,
        due_at=calendar.add(now, timedelta(seconds=target)),
        warn_at_percent=tuple(sorted(set(policy.warn_at_percent))),
        correlation_id=correlation_id,
    )
    return replace(clock, next_fire_at=next_fire_at(clock, calendar))


def _breach(clock: SlaClock, now: datetime) -> SlaBreached:
    return SlaBreached(
        incident_id=clock.incident_id,
        clock_id=clock.clock_id,
        metric=clock.metric,
        policy_id=clock.policy_id,
        due_at=clock.due_at,
        breached_at=now,
    )


def _retract(clock: SlaClock, met_at: datetime) -> Outcome:
    """The timer breached the clock before a stop from earlier than due reached sla (it came
    later than the timer's grace allows): correct it with a fact, and the clock is met."""
    met = replace(clock, status=ClockStatus.MET, stopped_at=met_at, next_fire_at=None)
    event = SlaBreachRetracted(
        incident_id=met.incident_id,
        clock_id=met.clock_id,
        metric=met.metric,
        due_at=met.due_at,
        met_at=met_at,
    )
    return Outcome((met,), (event,))
