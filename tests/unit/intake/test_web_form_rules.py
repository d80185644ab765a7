"""The web form's rules, pure: the language a page is shown in, a posted form read into a
report or errors per field, signed double-submit CSRF tokens, and the rate limit per address."""

from datetime import UTC, datetime, timedelta

import pytest
from incident_events.types import Channel, IncidentKind, Severity
from intake.channels.csrf import issue_token, submission_valid, token_valid
from intake.channels.rate_limit import RateLimit
from intake.channels.web_form import LANGUAGES, WebReport, choose_language, read_form, texts

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
SECRET = b"s" * 32
HOUR = timedelta(hours=1)


@pytest.mark.parametrize(
    ("asked", "accept", "language"),
    [
        ("ru", "cs", "ru"),
        ("xx", "pl-PL,pl;q=0.9,en;q=0.8", "pl"),
        (None, "de-DE, en;q=0.3, cs;q=0.7", "cs"),
        (None, "cs;q=0, en;q=0.1", "en"),
        (None, "*", "en"),
        (None, None, "en"),
        (None, "cs;q=abc", "cs"),  # a malformed weight counts as the default, 1
    ],
)
def test_choose_language(asked: str | None, accept: str | None, language: str) -> None:
    assert choose_language(asked, accept) == language


def test_every_language_has_every_text() -> None:
    english = set(texts("en"))
    assert all(set(texts(language)) == english for language in LANGUAGES)


def test_a_good_form_becomes_a_web_report() -> None:
    form = {
        "email": "jana@example.cz",
        "title": " Tiskárna ",
        "description": "Netiskne",
        "severity": "high",
        "kind": "billing",
        "phone": "",
        "csrf_token": "ignored here",
    }
    read = read_form(form)
    assert isinstance(read, WebReport)
    report = read.to_report("cs")
    assert (report.title, report.severity, report.kind) == (
        "Tiskárna",
        Severity.HIGH,
        IncidentKind.BILLING,
    )
    assert (report.channel, report.language, report.customer.language) == (Channel.WEB, "cs", "cs")
    assert report.customer.customer_id == "email:jana@example.cz" and report.customer.phone is None


def test_errors_name_each_field_with_a_message_key() -> None:
    errors = read_form(
        {
            "email": "jana@",
            "title": "   ",
            "description": "x" * 20_001,
            "severity": "urgent",
            "phone": "?",
        }
    )
    assert errors == {
        "email": "error_email",
        "title": "error_required",
        "description": "error_too_long",
        "severity": "error_invalid",
        "phone": "error_phone",
    }
    assert read_form({}) == {
        "email": "error_required",
        "title": "error_required",
        "description": "error_required",
    }
    assert read_form({"email": "a@b.cz", "title": "t", "description": "nul\x00"}) == {
        "description": "error_invalid"
    }


def test_csrf_tokens() -> None:
    token = issue_token(SECRET, now=T0)
    assert token_valid(SECRET, token, now=T0 + HOUR, max_age=2 * HOUR)
    assert not token_valid(SECRET, token, now=T0 + 3 * HOUR, max_age=2 * HOUR)
    assert not token_valid(b"other", token, now=T0, max_age=HOUR)
    tampered = token[:-1] + ("1" if token.endswith("0") else "0")  # never the token itself
    assert not token_valid(SECRET, tampered, now=T0, max_age=HOUR)
    for broken in ("", "a.b", "a.b.c", "..", token.replace(".", "", 1)):
        assert not token_valid(SECRET, broken, now=T0, max_age=HOUR)
    assert submission_valid(SECRET, field=token, cookie=token, now=T0, max_age=HOUR)
    other = issue_token(SECRET, now=T0)
    assert not submission_valid(SECRET, field=token, cookie=other, now=T0, max_age=HOUR)
    assert not submission_valid(SECRET, field="", cookie="", now=T0, max_age=HOUR)


def test_rate_limit_per_address_in_a_sliding_minute() -> None:
    limit = RateLimit(limit=2, window=timedelta(minutes=1), max_clients=2)
    assert [limit.allow("a", now=T0) for _ in range(3)] == [True, True, False]
    assert limit.allow("b", now=T0)
    assert limit.allow("a", now=T0 + timedelta(seconds=61))
    limit.allow("c", now=T0)  # three addresses: the least recently seen ("b") is forgotten
    assert limit.allow("b", now=T0) and limit.allow("b", now=T0)
