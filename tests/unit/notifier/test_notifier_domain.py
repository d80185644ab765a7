"""The projection from two unordered topics, and when (and to whom) a message is owed."""

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from incident_events.incidents import CustomerRef, IncidentReported, IncidentResolved
from incident_events.sla import SlaBreached, SlaClockStarted
from incident_events.types import Channel, DeliveryChannel, Severity, SlaMetric
from notifier.domain import (
    ACKNOWLEDGEMENT,
    BREACH_APOLOGY,
    RESOLUTION,
    IncidentView,
    Preferences,
    acknowledgement_awaits,
    customer_language,
    notification_id_for,
    plan_acknowledgement,
    plan_breach_apology,
    plan_resolution,
    record_clock_started,
    record_report,
)

T0 = datetime(2025, 3, 4, 10, 30, tzinfo=UTC)
DUE = T0 + timedelta(hours=4)
URL = "https://status.example.com/status/tok"
NEW = IncidentView(incident_id="inc-1", status_token="tok")


def reported(language: str = "cs", email: str | None = "jana@example.com") -> IncidentReported:
    return IncidentReported(
        incident_id="inc-1",
        reference="INC-000042",
        title="Platba neprošla",
        severity=Severity.HIGH,
        channel=Channel.WEB,
        customer=CustomerRef(customer_id="c-7", name="Jana", email=email, language=language),
        reported_at=T0,
    )


def clock(metric: SlaMetric = SlaMetric.FIRST_RESPONSE) -> SlaClockStarted:
    return SlaClockStarted(
        incident_id="inc-1",
        clock_id="clk-1",
        metric=metric,
        policy_id="gold",
        target_seconds=4 * 3600,
        started_at=T0,
        due_at=DUE,
    )


def breached(metric: SlaMetric = SlaMetric.FIRST_RESPONSE) -> SlaBreached:
    return SlaBreached(
        incident_id="inc-1",
        clock_id="clk-1",
        metric=metric,
        policy_id="gold",
        due_at=DUE,
        breached_at=DUE,
    )


def test_report_fills_the_projection_in_the_customers_language() -> None:
    view = record_report(NEW, reported(language="cs-CZ"))
    assert (view.reference, view.title, view.customer_id) == (
        "INC-000042",
        "Platba neprošla",
        "c-7",
    )
    assert (view.email, view.name, view.language, view.reported_at) == (
        "jana@example.com",
        "Jana",
        "cs",
        T0,
    )


@pytest.mark.parametrize(
    ("metric", "due"),
    [(SlaMetric.FIRST_RESPONSE, DUE), (SlaMetric.RESOLUTION, None), (SlaMetric.UPDATE, None)],
)
def test_only_the_first_response_clock_sets_the_due_time(
    metric: SlaMetric, due: datetime | None
) -> None:
    assert record_clock_started(NEW, clock(metric)).first_response_due_at == due
    # The handler skips (does not even lock the incident for) the clocks that change nothing.
    assert acknowledgement_awaits(clock(metric)) == (due is not None)


@pytest.mark.parametrize(
    "steps",
    [
        pytest.param(("report", "clock"), id="report first"),
        pytest.param(("clock", "report"), id="clock first"),
    ],
)
def test_acknowledgement_is_owed_only_once_both_facts_are_known(steps: tuple[str, str]) -> None:
    view, planned_each_step = NEW, []
    for step in steps:
        view = (
            record_report(view, reported())
            if step == "report"
            else record_clock_started(view, clock())
        )
        view, planned = plan_acknowledgement(
            view, cause_event_id=step, status_url=URL, preferences=None
        )
        planned_each_step.append(planned)

    first, second = planned_each_step
    assert first is None and second is not None and view.acknowledged
    assert second.template == ACKNOWLEDGEMENT and second.cause_event_id == steps[1]
    assert second.recipient == "jana@example.com" and second.language == "cs"
    assert second.context == {
        "reference": "INC-000042",
        "title": "Platba neprošla",
        "name": "Jana",
        "status_url": URL,
        "response_window": "4 hodiny",
        "response_due": "4. března 2025 v 14:30 UTC",
    }


def test_an_acknowledged_incident_is_not_acknowledged_again() -> None:
    view = record_clock_started(record_report(NEW, reported()), clock())
    view, first = plan_acknowledgement(view, cause_event_id="a", status_url=URL, preferences=None)
    view, again = plan_acknowledgement(view, cause_event_id="b", status_url=URL, preferences=None)
    assert first is not None and again is None


READY = record_clock_started(record_report(NEW, reported()), clock())


@pytest.mark.parametrize(
    ("view", "preferences", "recipient", "language"),
    [
        (READY, None, "jana@example.com", "cs"),
        (READY, Preferences(language="ru"), "jana@example.com", "ru"),
        (READY, Preferences(email="j@work.example"), "j@work.example", "cs"),
        (READY, Preferences(language="de"), "jana@example.com", "en"),
        (READY, Preferences(channels=frozenset({"sms"})), None, None),
        (replace(READY, email=None), None, None, None),
        (replace(READY, email=None), Preferences(email="p@example.com"), "p@example.com", "cs"),
    ],
)
def test_preferences_choose_address_language_and_channel(
    view: IncidentView,
    preferences: Preferences | None,
    recipient: str | None,
    language: str | None,
) -> None:
    acknowledged, planned = plan_acknowledgement(
        view, cause_event_id="e", status_url=URL, preferences=preferences
    )
    assert acknowledged.acknowledged  # decided, even when there is no way to reach them
    chosen = (planned.recipient, planned.language) if planned else (None, None)
    assert chosen == (recipient, language)


@pytest.mark.parametrize(
    ("view", "event", "expected"),
    [
        (READY, breached(), True),
        (READY, breached(SlaMetric.RESOLUTION), False),
        (NEW, breached(), False),  # never reported here: nobody to write to
        (replace(READY, email=None), breached(), False),
    ],
)
def test_breach_apology_is_owed_for_a_late_first_response(
    view: IncidentView, event: SlaBreached, expected: bool
) -> None:
    planned = plan_breach_apology(view, event, cause_event_id="b", status_url=URL, preferences=None)
    assert (planned is not None) == expected
    if planned:
        assert planned.template == BREACH_APOLOGY
        assert planned.context["response_due"] == "4. března 2025 v 14:30 UTC"


def test_notification_ids_are_stable_per_cause_channel_and_template() -> None:
    email = DeliveryChannel.EMAIL.value
    assert notification_id_for("e1", email, ACKNOWLEDGEMENT) == notification_id_for(
        "e1", email, ACKNOWLEDGEMENT
    )
    assert (
        len(
            {
                notification_id_for("e1", email, ACKNOWLEDGEMENT),
                notification_id_for("e2", email, ACKNOWLEDGEMENT),
                notification_id_for("e1", "sms", ACKNOWLEDGEMENT),
                notification_id_for("e1", email, BREACH_APOLOGY),
            }
        )
        == 4
    )


def test_customer_language_prefers_stated_preferences() -> None:
    assert customer_language(READY, None) == "cs"
    assert customer_language(READY, Preferences(language="pl-PL")) == "pl"
    assert customer_language(READY, Preferences(language=None)) == "cs"


RESOLVED = IncidentResolved(incident_id="inc-1", resolved_at=DUE, resolution="Card <b>fixed</b>.")


@pytest.mark.parametrize(
    ("view", "preferences", "recipient", "language"),
    [
        (READY, None, "jana@example.com", "cs"),
        (record_report(NEW, reported()), Preferences(language="pl"), "jana@example.com", "pl"),
        (NEW, None, None, None),  # never reported here: nobody to write to
        (replace(READY, email=None), None, None, None),
        (READY, Preferences(channels=frozenset({"sms"})), None, None),
    ],
)
def test_the_resolution_is_told_with_its_summary(
    view: IncidentView,
    preferences: Preferences | None,
    recipient: str | None,
    language: str | None,
) -> None:
    planned = plan_resolution(
        view, RESOLVED, cause_event_id="r1", status_url=URL, preferences=preferences
    )
    if recipient is None:
        assert planned is None
        return
    assert planned is not None and planned.template == RESOLUTION
    assert (planned.recipient, planned.language) == (recipient, language)
    assert planned.context["resolution"] == "Card <b>fixed</b>."
    assert planned.context["reference"] == "INC-000042" and planned.context["status_url"] == URL
    # Resolved again after a reopening: another event, another message.
    again = plan_resolution(view, RESOLVED, cause_event_id="r2", status_url=URL, preferences=None)
    assert again is not None and again.notification_id != planned.notification_id


@pytest.mark.parametrize(
    ("time_zone", "due"),
    [
        ("Europe/Prague", "4. března 2025 v 15:30 Europe/Prague"),
        (None, "4. března 2025 v 14:30 UTC"),
    ],
)
def test_the_acknowledgement_gives_the_due_time_in_the_customers_time_zone(
    time_zone: str | None, due: str
) -> None:
    report = reported()
    zoned = report.model_copy(
        update={"customer": report.customer.model_copy(update={"time_zone": time_zone})}
    )
    view = record_clock_started(record_report(NEW, zoned), clock())
    assert view.time_zone == time_zone
    _, message = plan_acknowledgement(view, cause_event_id="e-1", status_url=URL, preferences=None)
    assert message is not None and message.context["response_due"] == due
