"""Dates, windows with plural forms, language fallback and status names in en, cs, pl, ru."""

from datetime import UTC, datetime, timedelta, timezone

import pytest
from incident_events.types import IncidentStatus
from notifier.localization import (
    STATUS_NAMES,
    STATUS_PAGE_LABELS,
    SUPPORTED_LANGUAGES,
    format_due,
    format_window,
    plural_form,
    status_name,
    supported_language,
)

DUE = datetime(2025, 3, 4, 14, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    ("tag", "expected"),
    [
        ("cs", "cs"),
        ("cs-CZ", "cs"),
        ("PL", "pl"),
        ("ru_RU", "ru"),
        ("en-GB", "en"),
        ("de", "en"),
        ("", "en"),
        (None, "en"),
    ],
)
def test_supported_language_falls_back_to_english(tag: str | None, expected: str) -> None:
    assert supported_language(tag) == expected


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("en", "4 March 2025, 14:30 UTC"),
        ("cs", "4. března 2025 v 14:30 UTC"),
        ("pl", "4 marca 2025 r., godz. 14:30 UTC"),
        ("ru", "4 марта 2025 г., 14:30 UTC"),
        ("de", "4 March 2025, 14:30 UTC"),
    ],
)
def test_due_time_is_written_in_the_language_in_utc(language: str, expected: str) -> None:
    assert format_due(DUE, language) == expected


def test_due_time_in_another_zone_is_converted_to_utc() -> None:
    prague = timezone(timedelta(hours=1))
    assert format_due(datetime(2025, 1, 1, 0, 15, tzinfo=prague), "en") == (
        "31 December 2024, 23:15 UTC"
    )


@pytest.mark.parametrize(
    ("count", "language", "form"),
    [
        (1, "en", 0),
        (2, "en", 2),
        (0, "en", 2),
        (1, "cs", 0),
        (3, "cs", 1),
        (5, "cs", 2),
        (22, "cs", 2),
        (1, "pl", 0),
        (4, "pl", 1),
        (12, "pl", 2),
        (22, "pl", 1),
        (21, "pl", 2),
        (1, "ru", 0),
        (21, "ru", 0),
        (11, "ru", 2),
        (3, "ru", 1),
        (13, "ru", 2),
        (25, "ru", 2),
    ],
)
def test_plural_forms_follow_each_language(count: int, language: str, form: int) -> None:
    assert plural_form(count, language) == form


@pytest.mark.parametrize(
    ("seconds", "language", "expected"),
    [
        (4 * 3600, "en", "4 hours"),
        (3600, "en", "1 hour"),
        (5400, "en", "1 hour 30 minutes"),
        (60, "en", "1 minute"),
        (0, "en", "0 minutes"),
        (4 * 3600, "cs", "4 hodiny"),
        (8 * 3600, "cs", "8 hodin"),
        (3600 + 60, "cs", "1 hodina 1 minuta"),
        (2 * 3600, "pl", "2 godziny"),
        (24 * 3600, "pl", "24 godziny"),
        (25 * 3600, "pl", "25 godzin"),
        (45 * 60, "pl", "45 minut"),
        (21 * 3600, "ru", "21 час"),
        (2 * 3600, "ru", "2 часа"),
        (30 * 60, "ru", "30 минут"),
        (61, "en", "2 minutes"),  # rounded up: never promise less than agreed
    ],
)
def test_windows_are_written_with_correct_plurals(
    seconds: int, language: str, expected: str
) -> None:
    assert format_window(seconds, language) == expected


def test_every_language_names_every_status_and_page_label() -> None:
    assert STATUS_NAMES["en"].keys() == {status.value for status in IncidentStatus}
    for language in SUPPORTED_LANGUAGES:
        assert STATUS_NAMES[language].keys() == STATUS_NAMES["en"].keys()
        assert STATUS_PAGE_LABELS[language].keys() == STATUS_PAGE_LABELS["en"].keys()


@pytest.mark.parametrize(
    ("status", "language", "expected"),
    [
        ("in_progress", "cs", "Řeší se"),
        ("resolved", "ru", "Решено"),
        ("reopened", "cs", "Znovu otevřeno"),
        ("reopened", "pl", "Ponownie otwarte"),
        ("waiting_on_customer", "ru", "Ожидаем вашего ответа"),
        ("new", "xx", "Received"),
        ("unknown_status", "pl", "unknown_status"),
    ],
)
def test_status_names(status: str, language: str, expected: str) -> None:
    assert status_name(status, language) == expected


@pytest.mark.parametrize(
    ("language", "time_zone", "expected"),
    [
        ("en", "Europe/Prague", "4 March 2025, 15:30 Europe/Prague"),
        ("cs", "Europe/Prague", "4. března 2025 v 15:30 Europe/Prague"),
        ("ru", "Asia/Tokyo", "4 марта 2025 г., 23:30 Asia/Tokyo"),
        ("en", "America/New_York", "4 March 2025, 09:30 America/New_York"),
        ("en", "Mars/Olympus_Mons", "4 March 2025, 14:30 UTC"),  # unknown here: UTC
        ("en", "../../etc/passwd", "4 March 2025, 14:30 UTC"),
        ("en", None, "4 March 2025, 14:30 UTC"),
    ],
)
def test_due_time_is_written_in_the_customers_time_zone(
    language: str, time_zone: str | None, expected: str
) -> None:
    assert format_due(DUE, language, time_zone) == expected
