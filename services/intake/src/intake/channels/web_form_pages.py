"""The web form's pages, rendered with Jinja2 (autoescaped: what a customer typed is shown as
text): the form, with a CSRF token in a hidden field and the same in a cookie, and the page
confirming a report with its reference. Each answer carries headers that forbid scripts,
framing and caching."""

import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from incident_events.types import IncidentKind, Severity
from jinja2 import Environment, FileSystemLoader, select_autoescape

from intake.channels.csrf import issue_token, token_valid
from intake.channels.web_form import FIELDS, LANGUAGES, texts

COOKIE = "intake_report_csrf"
TOKEN_MAX_AGE = timedelta(hours=2)
LANGUAGE_NAMES = {"en": "English", "cs": "Čeština", "pl": "Polski", "ru": "Русский"}
# Inline styles only; no scripts, frames, or posting anywhere but here.
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


class FormPages:
    def __init__(self, *, secret: bytes, now: Callable[[], datetime]) -> None:
        self._secret, self._now = secret, now
        self._templates = Environment(
            loader=FileSystemLoader(Path(__file__).with_name("templates")),
            autoescape=select_autoescape(default=True, default_for_string=True),
        )

    def form(
        self,
        request: Request,
        code: int,
        lang: str,
        *,
        values: dict[str, str] | None = None,
        errors: dict[str, str] | None = None,
        problem: str | None = None,
    ) -> HTMLResponse:
        """The form with a valid token: the browser's own while it has long to live (so
        several open tabs all work), else a new one in a new cookie."""
        token = request.cookies.get(COOKIE, "")
        fresh = not token_valid(self._secret, token, now=self._now(), max_age=TOKEN_MAX_AGE / 2)
        if fresh:
            token = issue_token(self._secret, now=self._now())
        answer = self._render(
            "report_form.html",
            code,
            lang,
            csrf_token=token,
            form_id=str(uuid.uuid4()),  # the report's Idempotency-Key: a reload repeats it
            values=values or {},
            errors=errors or {},
            problem=problem,
            fields=FIELDS,
            kinds=[kind.value for kind in IncidentKind],
            severities=[severity.value for severity in Severity],
        )
        if fresh:
            answer.set_cookie(
                COOKIE,
                token,
                max_age=int(TOKEN_MAX_AGE.total_seconds()),
                path="/report",
                httponly=True,
                samesite="strict",
                secure=request.url.scheme == "https",
            )
        return answer

    def sent(self, lang: str, *, reference: str, email: str) -> HTMLResponse:
        return self._render("report_sent.html", 201, lang, reference=reference, email=email)

    def _render(self, template: str, code: int, lang: str, **context: Any) -> HTMLResponse:
        languages = [(language, LANGUAGE_NAMES[language]) for language in LANGUAGES]
        page = self._templates.get_template(template).render(
            lang=lang, t=texts(lang), languages=languages, **context
        )
        return HTMLResponse(page, status_code=code, headers=SECURITY_HEADERS)
