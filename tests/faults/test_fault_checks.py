"""The fault suite's verdict (faults.checks.judge) on observations made up for each case."""

from collections import Counter
from dataclasses import replace

from faults.checks import DeadLetterSeen, Observed, judge

KEY, INCIDENT = "run-kill-intake-00001", "inc-1"


def complete() -> Observed:
    """One acknowledged incident with every effect exactly once."""
    return Observed(
        acknowledged={KEY: INCIDENT},
        intake_rows={KEY: [INCIDENT]},
        assigned_rows={INCIDENT},
        assigned_events={INCIDENT: {"e1"}},
        clock_rows={INCIDENT: {"first_response", "resolution"}},
        clock_events={(INCIDENT, "first_response"): {"c1"}, (INCIDENT, "resolution"): {"c2"}},
        breach_due=set(),
        breach_events={},
        mails={INCIDENT: Counter({"<m1@x>": 1})},
        dead_letters=[],
        poison_must_park={},
    )


def test_every_effect_once_is_ok() -> None:
    assert judge(complete()).ok


def test_a_second_incident_under_one_key_is_a_duplicate() -> None:
    verdict = judge(replace(complete(), intake_rows={KEY: [INCIDENT, "inc-2"]}))
    assert verdict.duplicated["incident"] == [INCIDENT]
    assert not verdict.ok


def test_an_acknowledged_incident_intake_does_not_hold_is_lost() -> None:
    verdict = judge(replace(complete(), intake_rows={}))
    assert verdict.lost["incident"] == [INCIDENT]


def test_assignment_needs_the_row_and_the_event_and_counts_distinct_event_ids() -> None:
    assert judge(replace(complete(), assigned_rows=set())).lost["assignment"] == [INCIDENT]
    assert judge(replace(complete(), assigned_events={})).lost["assignment"] == [INCIDENT]
    doubled = replace(complete(), assigned_events={INCIDENT: {"e1", "e2"}})
    assert judge(doubled).duplicated["assignment"] == [INCIDENT]


def test_a_missing_clock_is_lost_and_a_clock_started_twice_is_doubled() -> None:
    one_clock = replace(complete(), clock_rows={INCIDENT: {"first_response"}})
    assert judge(one_clock).lost["clocks"] == [INCIDENT]
    events = {(INCIDENT, "first_response"): {"c1", "c3"}, (INCIDENT, "resolution"): {"c2"}}
    assert judge(replace(complete(), clock_events=events)).duplicated["clocks"] == [INCIDENT]


def test_breaches_fire_once_when_due_and_never_before() -> None:
    due = replace(complete(), breach_due={(INCIDENT, "first_response")})
    assert judge(due).lost["breaches"] == [INCIDENT]
    fired = {(INCIDENT, "first_response"): {"b1"}}
    assert judge(replace(due, breach_events=fired)).ok
    assert judge(replace(complete(), breach_events=fired)).duplicated["breaches"] == [INCIDENT]


def test_a_resent_mail_is_a_resend_and_a_second_message_a_duplicate() -> None:
    resent = judge(replace(complete(), mails={INCIDENT: Counter({"<m1@x>": 2})}))
    assert resent.ok and resent.mail_resends == 1
    second = judge(replace(complete(), mails={INCIDENT: Counter({"<m1@x>": 1, "<m2@x>": 1})}))
    assert second.duplicated["email"] == [INCIDENT]
    assert judge(replace(complete(), mails={})).lost["email"] == [INCIDENT]


def test_dead_letters_other_than_the_poison_fail_and_poison_must_be_parked() -> None:
    letters = [
        DeadLetterSeen("incidents.dlq", "router", "run/incidents/garbage", "EventParseError"),
        DeadLetterSeen("assignments.dlq", "sla", None, "IntegrityError"),
    ]
    must: dict[str, tuple[str, ...]] = {"run/incidents/garbage": ("router", "sla")}
    verdict = judge(replace(complete(), dead_letters=letters, poison_must_park=must))
    assert verdict.poison_parked == 1
    assert [letter.group for letter in verdict.extra_dead_letters] == ["sla"]
    assert verdict.poison_not_parked == ["run/incidents/garbage by sla"]
