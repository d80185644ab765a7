"""Every template in every language renders with its context; HTML is escaped on the status
page and left alone in plain-text e-mail; unknown languages get English."""

from dataclasses import replace
from datetime import UTC, datetime

import pytest
from notifier.domain import ACKNOWLEDGEMENT, BREACH_APOLOGY, RESOLUTION, IncidentView
from notifier.localization import SUPPORTED_LANGUAGES
from notifier.rendering import render_message, render_status_page

CONTEXT = {
    "reference": "INC-000042",
    "title": "Checkout <b>broken</b>",
    "name": "Jana",
    "status_url": "https://status.example.com/status/tok",
    "response_window": "4 hours",
    "response_due": "4 March 2025, 14:30 UTC",
    "resolution": "Renewed the <gateway> certificate & retried your payment.\nAll good now.",
}
# A word of each language's greeting and of its acknowledgement subject.
EXPECTED = {
    ("en", ACKNOWLEDGEMENT): ("received your report", "Hello Jana"),
    ("cs", ACKNOWLEDGEMENT): ("Vaše hlášení jsme přijali", "Dobrý den, Jana"),
    ("pl", ACKNOWLEDGEMENT): ("Otrzymaliśmy Twoje zgłoszenie", "Dzień dobry, Jana"),
    ("ru", ACKNOWLEDGEMENT): ("Мы получили ваше обращение", "Здравствуйте, Jana!"),
    ("en", BREACH_APOLOGY): ("We are sorry", "We are sorry for the delay"),
    ("cs", BREACH_APOLOGY): ("Omlouváme se", "Za zpoždění se vám omlouváme"),
    ("pl", BREACH_APOLOGY): ("Przepraszamy", "przepraszamy za opóźnienie"),
    ("ru", BREACH_APOLOGY): ("Приносим извинения", "Приносим извинения за задержку"),
    ("en", RESOLUTION): ("has been resolved", "What we did:"),
    ("cs", RESOLUTION): ("jsme vyřešili", "Co jsme udělali:"),
    ("pl", RESOLUTION): ("zostało rozwiązane", "Co zrobiliśmy:"),
    ("ru", RESOLUTION): ("решено", "Что мы сделали:"),
}


@pytest.mark.parametrize(("language", "template"), sorted(EXPECTED))
def test_each_template_renders_in_each_language(language: str, template: str) -> None:
    subject, body = render_message(template, language, CONTEXT)
    in_subject, in_body = EXPECTED[(language, template)]
    assert subject.startswith("[INC-000042] ") and in_subject in subject
    assert in_body in body
    for value in ("INC-000042", "Checkout <b>broken</b>", CONTEXT["status_url"]):
        assert value in body  # plain text: nothing escaped
    if template == ACKNOWLEDGEMENT:
        assert "4 hours" in body
    if template != RESOLUTION:
        assert "14:30 UTC" in body
    else:
        assert CONTEXT["resolution"] in body  # the summary as the agent wrote it


def test_unknown_language_falls_back_to_english() -> None:
    assert render_message(ACKNOWLEDGEMENT, "de", CONTEXT) == render_message(
        ACKNOWLEDGEMENT, "en", CONTEXT
    )


def test_without_a_name_the_greeting_stays_polite() -> None:
    _, body = render_message(ACKNOWLEDGEMENT, "cs", CONTEXT | {"name": None})
    assert body.startswith("Dobrý den,\n")


def test_a_title_with_line_breaks_keeps_the_subject_on_one_line() -> None:
    subject, _ = render_message(ACKNOWLEDGEMENT, "en", CONTEXT | {"title": "a\r\nBcc: x@y"})
    assert "\n" not in subject and "\r" not in subject


def test_a_missing_context_value_is_an_error_not_a_blank() -> None:
    with pytest.raises(Exception, match="response_window"):
        render_message(
            ACKNOWLEDGEMENT, "en", {k: v for k, v in CONTEXT.items() if k != "response_window"}
        )


VIEW = IncidentView(
    incident_id="inc-1",
    status_token="tok",
    reference="INC-000042",
    title='<script>alert("x")</script> & more',
    status="in_progress",
    first_response_due_at=datetime(2025, 3, 4, 14, 30, tzinfo=UTC),
)


@pytest.mark.parametrize(
    ("language", "heading", "status"),
    [
        ("en", "Status of your request", "In progress"),
        ("cs", "Stav vašeho požadavku", "Řeší se"),
        ("pl", "Status Twojego zgłoszenia", "W realizacji"),
        ("ru", "Статус вашего обращения", "В работе"),
    ],
)
def test_status_page_is_localized_and_escapes_the_title(
    language: str, heading: str, status: str
) -> None:
    page = render_status_page(VIEW, language)
    assert f'<html lang="{language}">' in page
    assert heading in page and status in page and "INC-000042" in page
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; more" in page
    assert "<script>" not in page


def test_status_page_without_a_due_time_says_it_is_to_be_confirmed() -> None:
    page = render_status_page(replace(VIEW, first_response_due_at=None), "en")
    assert "to be confirmed" in page


def test_every_language_has_every_template() -> None:
    for language in SUPPORTED_LANGUAGES:
        for template in (ACKNOWLEDGEMENT, BREACH_APOLOGY, RESOLUTION):
            subject, body = render_message(template, language, CONTEXT)
            assert subject and body.endswith("\n")
