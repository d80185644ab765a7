"""The pure SLA domain: policy matching, starting, firing and stopping clocks, table-driven."""

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from incident_events.sla import (
    SlaBreached,
    SlaBreachRetracted,
    SlaClockStarted,
    SlaMet,
    SlaWarning,
)
from incident_events.types import SlaMetric
from sla.calendars import TWENTY_FOUR_SEVEN, UnknownCalendar, calendar_named
from sla.domain import (
    ClockStatus,
    Incident,
    Outcome,
    Policy,
    SlaClock,
    fire,
    match_policy,
    start_clocks,
    stop,
    time_to_breach,
)

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)
INCIDENT = Incident("inc-1", "cust-1", tier="premium", severity="high", kind="outage")
POLICY = Policy(
    "gold",
    "Gold",
    priority=10,
    first_response_seconds=3600,
    resolution_seconds=8 * 3600,
    warn_at_percent=(75, 50),
)


def policy(
    policy_id: str,
    priority: int,
    *,
    tiers: tuple[str, ...] = (),
    severities: tuple[str, ...] = (),
    kinds: tuple[str, ...] = (),
) -> Policy:
    return Policy(
        policy_id,
        policy_id,
        priority,
        60,
        600,
        match_tiers=tiers,
        match_severities=severities,
        match_kinds=kinds,
    )


POLICIES = [
    policy("catch-all", 100),
    policy("premium", 10, tiers=("premium", "enterprise")),
    policy("critical", 5, severities=("critical",)),
    policy("premium-outage", 10, tiers=("premium",), kinds=("outage",)),
]


@pytest.mark.parametrize(
    ("tier", "severity", "kind", "expected"),
    [
        ("standard", "low", "question", "catch-all"),  # empty lists match anything
        ("premium", "low", "question", "premium"),  # lower priority number wins
        ("premium", "critical", "outage", "critical"),
        ("premium", "high", "outage", "premium"),  # equal priority: lowest id wins
        ("enterprise", "high", "outage", "premium"),
    ],
)
def test_match_policy_picks_the_first_by_priority(
    tier: str, severity: str, kind: str, expected: str
) -> None:
    chosen = match_policy(POLICIES, tier=tier, severity=severity, kind=kind)
    assert chosen is not None and chosen.policy_id == expected


@pytest.mark.parametrize(
    "policies",
    [[], [policy("premium", 1, tiers=("premium",))], [policy("k", 1, kinds=("x",))]],
)
def test_match_policy_without_a_match_is_none(policies: list[Policy]) -> None:
    assert match_policy(policies, tier="standard", severity="low", kind="outage") is None


def test_start_clocks_starts_first_response_and_resolution() -> None:
    outcome = start_clocks(INCIDENT, POLICY, T0, correlation_id="corr")

    assert [(c.metric, c.due_at, c.next_fire_at) for c in outcome.clocks] == [
        (SlaMetric.FIRST_RESPONSE, T0 + HOUR, T0 + HOUR / 2),  # next: the 50% warning
        (SlaMetric.RESOLUTION, T0 + 8 * HOUR, T0 + 4 * HOUR),
    ]
    assert all(
        c.status is ClockStatus.RUNNING and c.correlation_id == "corr" for c in outcome.clocks
    )
    assert all(c.warn_at_percent == (50, 75) for c in outcome.clocks)
    assert [type(e) for e in outcome.events] == [SlaClockStarted, SlaClockStarted]
    started = outcome.events[0]
    assert isinstance(started, SlaClockStarted)
    assert (started.target_seconds, started.started_at, started.due_at) == (3600, T0, T0 + HOUR)
    assert started.clock_id == outcome.clocks[0].clock_id


def test_clock_ids_are_the_same_for_the_same_incident_and_metric() -> None:
    first = start_clocks(INCIDENT, POLICY, T0).clocks
    again = start_clocks(INCIDENT, POLICY, T0 + HOUR).clocks
    other = start_clocks(replace(INCIDENT, incident_id="inc-2"), POLICY, T0).clocks
    assert [c.clock_id for c in first] == [c.clock_id for c in again]
    assert len({c.clock_id for c in first + other}) == 4


def clock(**changes: object) -> SlaClock:
    started = SlaClock(
        "clock-1",
        "inc-1",
        SlaMetric.FIRST_RESPONSE,
        "gold",
        "24x7",
        3600,
        T0,
        T0 + HOUR,
        warn_at_percent=(50, 75),
        next_fire_at=T0 + HOUR / 2,
    )
    return replace(started, **changes)  # type: ignore[arg-type]


MINUTE = timedelta(minutes=1)


@pytest.mark.parametrize(
    ("before", "elapsed", "warned", "breached", "next_fire"),
    [
        (clock(), 29 * MINUTE, [], False, T0 + 30 * MINUTE),  # nothing due yet
        (clock(), 30 * MINUTE, [50], False, T0 + 45 * MINUTE),  # the 50% moment itself
        (clock(), 50 * MINUTE, [50, 75], False, T0 + HOUR),  # late: both warnings at once
        (clock(warned_percents=(50,)), 50 * MINUTE, [75], False, T0 + HOUR),  # warn once only
        (clock(warned_percents=(50, 75)), HOUR, [], True, None),  # due: breach
        (clock(), 2 * HOUR, [50, 75], True, None),  # overdue after downtime: all of it, in order
        (clock(status=ClockStatus.MET, next_fire_at=None), 2 * HOUR, [], False, None),
        (clock(status=ClockStatus.BREACHED, next_fire_at=None), 2 * HOUR, [], False, None),
    ],
)
def test_fire_warns_once_per_percent_and_breaches_at_due(
    before: SlaClock,
    elapsed: timedelta,
    warned: list[int],
    breached: bool,
    next_fire: datetime | None,
) -> None:
    now = T0 + elapsed
    outcome = fire(before, now, calendar=TWENTY_FOUR_SEVEN)

    (after,) = outcome.clocks
    warnings = [e for e in outcome.events if isinstance(e, SlaWarning)]
    breaches = [e for e in outcome.events if isinstance(e, SlaBreached)]
    assert [w.percent for w in warnings] == warned
    assert all(w.warned_at == now and w.due_at == before.due_at for w in warnings)
    assert len(breaches) == (1 if breached else 0)
    if breached:
        assert outcome.events[-1] == breaches[0]  # warnings come before the breach
        assert after.status is ClockStatus.BREACHED and breaches[0].breached_at == now
    assert after.next_fire_at == next_fire
    assert set(warned) <= set(after.warned_percents)


@pytest.mark.parametrize(
    ("before", "elapsed", "status", "event_type"),
    [
        (clock(), 10 * MINUTE, ClockStatus.MET, SlaMet),
        (clock(), HOUR, ClockStatus.BREACHED, SlaBreached),  # the timer had not caught it yet
        (
            clock(status=ClockStatus.BREACHED, next_fire_at=None),
            2 * HOUR,
            ClockStatus.BREACHED,
            None,
        ),  # already announced: only the stop is recorded
    ],
)
def test_stop_meets_or_breaches_the_clock(
    before: SlaClock, elapsed: timedelta, status: ClockStatus, event_type: type | None
) -> None:
    now = T0 + elapsed
    outcome = stop([before], SlaMetric.FIRST_RESPONSE, now)

    (after,) = outcome.clocks
    assert (after.status, after.stopped_at, after.next_fire_at) == (status, now, None)
    assert [type(e) for e in outcome.events] == ([event_type] if event_type else [])


@pytest.mark.parametrize(
    ("settled", "warned", "breached", "next_fire"),
    [
        (None, [50, 75], True, None),  # no horizon given: by now is enough
        (T0 + 40 * MINUTE, [50], False, T0 + 45 * MINUTE),  # the 75% moment is not settled
        (T0 + HOUR - MINUTE, [50, 75], False, T0 + HOUR),  # a stop may still wait in Kafka
        (T0 + HOUR, [50, 75], True, None),  # everything up to the due moment is applied
        (T0 + 3 * HOUR, [50, 75], True, None),  # a horizon past now is cut to now
    ],
)
def test_fire_acts_only_on_settled_moments(
    settled: datetime | None, warned: list[int], breached: bool, next_fire: datetime | None
) -> None:
    now = T0 + 2 * HOUR
    outcome = fire(clock(), now, settled=settled)

    (after,) = outcome.clocks
    warnings = [e for e in outcome.events if isinstance(e, SlaWarning)]
    assert [w.percent for w in warnings] == warned
    assert all(w.warned_at == now for w in warnings)  # stamped when fired
    breaches = [e for e in outcome.events if isinstance(e, SlaBreached)]
    assert [b.breached_at for b in breaches] == ([now] if breached else [])
    assert after.status is (ClockStatus.BREACHED if breached else ClockStatus.RUNNING)
    # Unsettled, the moment stays due: the timer takes the clock again once it is settled.
    assert after.next_fire_at == next_fire


def test_fire_does_not_breach_before_due_whatever_the_horizon() -> None:
    outcome = fire(clock(warned_percents=(50, 75)), T0 + 59 * MINUTE, settled=T0 + 3 * HOUR)
    assert outcome.events == () and outcome.clocks[0].status is ClockStatus.RUNNING


def test_a_stop_from_before_due_retracts_a_breach() -> None:
    breached = clock(status=ClockStatus.BREACHED, next_fire_at=None)
    outcome = stop([breached], SlaMetric.FIRST_RESPONSE, T0 + 50 * MINUTE)

    (after,) = outcome.clocks
    assert (after.status, after.stopped_at) == (ClockStatus.MET, T0 + 50 * MINUTE)
    (event,) = outcome.events
    assert isinstance(event, SlaBreachRetracted)
    assert (event.incident_id, event.clock_id, event.metric) == (
        "inc-1",
        "clock-1",
        SlaMetric.FIRST_RESPONSE,
    )
    assert (event.due_at, event.met_at) == (T0 + HOUR, T0 + 50 * MINUTE)
    # Stopped now: a second stop (a redelivery, a resolution after the reply) changes nothing.
    assert stop([after], SlaMetric.FIRST_RESPONSE, T0 + 55 * MINUTE) == Outcome()


@pytest.mark.parametrize(
    "clocks",
    [
        [],  # no policy matched: no clocks
        [clock(metric=SlaMetric.RESOLUTION)],  # only another metric's clock
        [clock(status=ClockStatus.MET, stopped_at=T0 + MINUTE)],  # already stopped
    ],
)
def test_stop_without_a_running_clock_changes_nothing(clocks: list[SlaClock]) -> None:
    outcome = stop(clocks, SlaMetric.FIRST_RESPONSE, T0 + 10 * MINUTE)
    assert outcome.clocks == () and outcome.events == ()


def test_stop_met_event_names_the_clock() -> None:
    (event,) = stop([clock()], SlaMetric.FIRST_RESPONSE, T0 + MINUTE).events
    assert isinstance(event, SlaMet)
    assert (event.clock_id, event.met_at, event.due_at) == ("clock-1", T0 + MINUTE, T0 + HOUR)


@pytest.mark.parametrize(
    ("subject", "elapsed", "expected"),
    [
        (clock(), 15 * MINUTE, 45 * 60.0),
        (clock(status=ClockStatus.BREACHED), 2 * HOUR, -3600.0),
        (clock(status=ClockStatus.BREACHED, stopped_at=T0 + 90 * MINUTE), 5 * HOUR, -1800.0),
        (clock(status=ClockStatus.MET, stopped_at=T0 + MINUTE), 5 * HOUR, None),
    ],
)
def test_time_to_breach(subject: SlaClock, elapsed: timedelta, expected: float | None) -> None:
    assert time_to_breach(subject, T0 + elapsed) == expected


def test_calendars_by_name() -> None:
    assert calendar_named("24x7").add(T0, HOUR) == T0 + HOUR
    with pytest.raises(UnknownCalendar, match="business"):
        calendar_named("business")
