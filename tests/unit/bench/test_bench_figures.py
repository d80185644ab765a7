"""The benchmarks' arithmetic: a step's figures and errors, when a sweep stops and what it
sustained, CPU per incident net of idle and the runs (wake-ups) behind it, PostgreSQL's work
per incident, the stages of an incident's way to its agent, wrk's result line, the printed
table."""

from collections import Counter
from dataclasses import replace

from bench import database_work
from bench.assignments import ASSIGNED, REPORTED, Seen
from bench.cpu import per_incident
from bench.cpu_time import Reading
from bench.open_loop import Sends
from bench.pipeline import StepFigures, step_figures
from bench.report import Table, render
from bench.stages import stage_figures
from bench.stats import growth_per_incident
from bench.sweep import SweepPlan, highest_sustained, incidents_per_step, saturated
from bench.wrk import parse_wrk_output


def test_a_step_times_each_incident_from_its_due_time_and_counts_every_kind_of_error() -> None:
    sends = Sends(
        due_at={"a": 0.0, "b": 0.1, "c": 0.2},
        answer_seconds=[0.01, 0.02, 0.03],
        failures=Counter({"HTTP 503": 1}),
        timeouts=1,
        started=0.0,
        finished_sending=0.4,
    )
    figures = step_figures(sends, {"a": 0.05, "b": 0.2, "other": 0.1}, rate=10, count=5)

    assert (figures.accepted, figures.assigned, figures.unassigned) == (3, 2, 1)
    assert (figures.post_errors, figures.post_timeouts, figures.errors) == (1, 1, 3)
    assert figures.error_fraction == 0.6
    assert figures.p50_ms == 50.0  # the nearer of 50 ms and 100 ms to the middle
    assert figures.sent_per_second == 10.0


def test_stages_split_each_incidents_time_at_its_events_and_skip_those_not_seen_twice() -> None:
    # POST due at 1.000 s; intake took the report up at 1.002 and sent it at 1.008; read 1.011;
    # the router's handler began at 1.015, sent at 1.020; the assignment read at 1.023.
    seen = {
        (REPORTED, "a"): Seen(sent=1.008, read=1.011, made=1.002),
        (ASSIGNED, "a"): Seen(sent=1.020, read=1.023, made=1.015),
        (REPORTED, "b"): Seen(sent=2.0, read=2.0, made=2.0),  # b was never assigned
    }

    stages = stage_figures({"a": 1.000, "b": 1.9}, seen)

    assert {name.strip(): round(f["p50_ms"]) for name, f in stages.items()} == {
        "intake: POST due → reported sent": 8,
        "of which report received → sent": 6,
        "Kafka: reported sent → read": 3,
        "router: reported read → assigned sent": 9,
        "of which handler began → sent": 5,
        "Kafka: assigned sent → read": 3,
        "POST due → assigned read": 23,
    }
    assert {f["count"] for f in stages.values()} == {1}


def _step(rate: float, p99_ms: float, error_fraction: float = 0.0) -> StepFigures:
    return StepFigures(
        rate_per_second=rate,
        sent=100,
        sent_per_second=rate,
        accepted=100,
        assigned=100,
        assigned_per_second=rate,
        p50_ms=1,
        p95_ms=1,
        p99_ms=p99_ms,
        mean_ms=1,
        post_response_p50_ms=1,
        post_response_p99_ms=1,
        post_errors=0,
        post_timeouts=0,
        unassigned=0,
        error_fraction=error_fraction,
        generator_lag_max_ms=0,
    )


def test_a_sweep_stops_at_many_errors_or_seconds_of_p99_and_reports_what_met_the_target() -> None:
    plan = SweepPlan(p99_target_ms=30, stop_error_fraction=0.05, stop_p99_ms=5000)
    steps = [_step(25, 12), _step(50, 29), _step(100, 31), _step(200, 20, error_fraction=0.01)]

    assert highest_sustained(steps, plan) == 50
    assert not saturated(steps[2], plan)
    assert saturated(_step(400, 5001), plan)
    assert saturated(_step(400, 10, error_fraction=0.06), plan)
    assert saturated(_step(400, float("nan")), plan)  # nothing was assigned at all
    assert highest_sustained([_step(25, 40)], plan) is None


def test_a_low_rate_is_measured_long_enough_for_its_p99_to_rest_on_many_incidents() -> None:
    plan = SweepPlan(step_seconds=10, min_incidents_per_step=1000)

    assert incidents_per_step(10, plan) == 1000  # 100 s, not 10 s of 100 incidents
    assert incidents_per_step(50, plan) == 1000
    assert incidents_per_step(400, plan) == 4000  # step_seconds already gives more


def test_cpu_per_incident_is_given_net_of_what_each_component_burns_idle() -> None:
    idle = Reading(12.0, {"kafka": 1.5}).since(Reading(10.0, {"kafka": 1.4}))  # 0.05 cores
    loaded = Reading(30.0, {"kafka": 2.5}).since(Reading(20.0, {"kafka": 1.5}))  # 1 s in 10 s

    figures = per_incident(loaded, idle, incidents=100)["kafka"]

    assert figures["gross_ms_per_incident"] == 10.0
    assert figures["ms_per_incident"] == 5.0  # 1 s - 0.05 cores * 10 s, over 100 incidents
    assert figures["idle_cores"] == 0.05


def test_runs_per_incident_count_the_wake_ups_and_a_thread_gone_takes_its_runs_along() -> None:
    idle = Reading(12.0, {"router": 0.1}).since(Reading(10.0, {"router": 0.1}))
    before = Reading(20.0, {"router": 1.0, "postgres": 1.0}, {"router": 500, "postgres": 900})
    after = Reading(30.0, {"router": 2.0, "postgres": 1.5}, {"router": 2500, "postgres": 400})

    figures = per_incident(after.since(before), idle, incidents=100)

    assert figures["router"]["runs_per_incident"] == 20.0  # 2,000 runs over 100 incidents
    assert figures["router"]["ms_per_run"] == 0.5  # 1 s of CPU over 2,000 runs
    # A backend that exited took its runs along: none, rather than fewer than none.
    assert figures["postgres"]["runs_per_incident"] == 0.0


def test_database_work_per_incident_is_what_the_counts_grew_by_over_the_incidents() -> None:
    before = database_work.DatabaseCounts(
        commits=1_000, rollbacks=10, inserted=5_000, updated=3_000, deleted=7, statements=40_000
    )
    after = database_work.DatabaseCounts(
        commits=2_150, rollbacks=40, inserted=8_000, updated=4_650, deleted=7, statements=48_120
    )

    figures = growth_per_incident(before, after, incidents=100)

    assert figures == {
        "commits": 11.5,
        "rollbacks": 0.3,
        "inserted": 30.0,
        "updated": 16.5,
        "deleted": 0.0,
        "statements": 81.2,
    }
    # A server without pg_stat_statements: no statement count, the rest as before.
    unknown = growth_per_incident(
        replace(before, statements=None), replace(after, statements=None), incidents=100
    )
    assert "statements" not in unknown and unknown["commits"] == 11.5


def test_wrks_result_line_is_read_in_milliseconds_and_every_non_201_is_an_error() -> None:
    line = (
        'BENCH_RESULT {"duration_us": 2000000, "requests": 5000, "created": 4990, '
        '"repeated": 1, "other_status": 4, "connect_errors": 0, "read_errors": 2, '
        '"write_errors": 0, "timeouts": 3, "p50_us": 1500, "p99_us": 9000, "max_us": 12000}'
    )
    run = parse_wrk_output(f"Running 2s test\n{line}\n", "", wrk_cpu_seconds=0.5)

    assert run.created_per_second == 2495
    assert (run.p50_ms, run.p99_ms) == (1.5, 9.0)
    assert run.errors == 10


def test_the_table_aligns_its_columns_under_a_ruled_header() -> None:
    table = Table("title", ("rate", "p99 ms"), [("25/s", 12.345), ("800/s", 1234.5)], ["note"])

    assert render(table).splitlines() == [
        "title",
        " rate  p99 ms",
        "-----  ------",
        " 25/s   12.35",
        "800/s   1,234",
        "note",
    ]
