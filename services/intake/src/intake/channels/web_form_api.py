"""GET/POST /report: the customer web form, server-rendered in the customer's language (?lang=,
else Accept-Language), public (no API key) but CSRF-protected by signed double submit, limited
per client address and, like every route, in body size and requests in flight.

A post answers 201 with the reference, or the form again with what to correct: 422 for the
fields (each named beside it and in a summary), 403 for a missing or expired token, 415 for a
body that is not a form, 429 past the rate limit. Posting the same form twice (a reload) gives
the same incident: the form's id is its Idempotency-Key.
"""

import secrets
import urllib.parse
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Query, Request, status
from fastapi.responses import HTMLResponse
from incident_events.types import IncidentKind, Severity
from jinja2 import Environment, FileSystemLoader, select_autoescape

from intake import domain
from intake.channels.csrf import issue_token, submission_valid, token_valid
from intake.channels.desk import ChannelDesk
from intake.channels.rate_limit import RateLimit
from intake.channels.web_form import FIELDS, LANGUAGES, choose_language, read_form, texts

COOKIE = "intake_report_csrf"
TOKEN_MAX_AGE = timedelta(hours=2)
FORM = "application/x-www-form-urlencoded"
LANGUAGE_NAMES = {"en": "English", "cs": "Čeština", "pl": "Polski", "ru": "Русский"}
# Inline styles only; no scripts, frames, or posting anywhere but here.
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}
HTML: dict[str, Any] = {"content": {"text/html": {}}}
FORM_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            FORM: {
                "schema": {
                    "type": "object",
                    "properties": {
                        n: {"type": "string"} for n in (*FIELDS, "csrf_token", "form_id", "lang")
                    },
                    "required": ["csrf_token", "email", "title", "description"],
                }
            }
        },
    }
}


def web_form_router(desk: ChannelDesk, *, secret: bytes, reports_per_minute: int) -> APIRouter:
    router = APIRouter(tags=["web form"])
    pages = Environment(
        loader=FileSystemLoader(Path(__file__).with_name("templates")),
        autoescape=select_autoescape(default=True, default_for_string=True),
    )
    limit = RateLimit(limit=reports_per_minute, window=timedelta(minutes=1))

    def render(
        template: str, code: int, lang: str, token: str | None, **context: Any
    ) -> HTMLResponse:
        page = pages.get_template(template).render(
            lang=lang,
            t=texts(lang),
            languages=[(code, LANGUAGE_NAMES[code]) for code in LANGUAGES],
            **context,
        )
        response = HTMLResponse(page, status_code=code, headers=SECURITY_HEADERS)
        if token is not None:
            response.set_cookie(
                COOKIE,
                token,
                max_age=int(TOKEN_MAX_AGE.total_seconds()),
                path="/report",
                httponly=True,
                samesite="strict",
            )
        return response

    def form(
        request: Request,
        code: int,
        lang: str,
        *,
        values: dict[str, str] | None = None,
        **context: Any,
    ) -> HTMLResponse:
        """The form with a valid token: the browser's own while it lasts, else a new one."""
        now = desk.now()
        token = request.cookies.get(COOKIE, "")
        fresh = not token_valid(secret, token, now=now, max_age=TOKEN_MAX_AGE / 2)
        token = issue_token(secret, now=now) if fresh else token
        context = {"errors": {}, "problem": None, **context}
        return render(
            "report_form.html",
            code,
            lang,
            token if fresh else None,
            csrf_token=token,
            form_id=str(uuid.uuid4()),
            values=values or {},
            fields=FIELDS,
            kinds=[kind.value for kind in IncidentKind],
            severities=[severity.value for severity in Severity],
            **context,
        )

    @router.get("/report", response_class=HTMLResponse, responses={200: HTML})
    async def report_form(
        request: Request, lang: str | None = Query(None, max_length=10)
    ) -> HTMLResponse:
        """The web form, in ?lang= (en, cs, pl, ru) or the browser's language."""
        return form(request, 200, choose_language(lang, request.headers.get("accept-language")))

    @router.post(
        "/report",
        response_class=HTMLResponse,
        status_code=status.HTTP_201_CREATED,
        openapi_extra=FORM_BODY,
        responses={
            201: HTML,
            403: {**HTML, "description": "No valid CSRF token (the form again)"},
            415: {**HTML, "description": "Not a form body"},
            422: {**HTML, "description": "Fields to correct, named in the form"},
            429: {**HTML, "description": "Too many reports from this address; Retry-After"},
        },
    )
    async def send_report(
        request: Request, lang: str | None = Query(None, max_length=10)
    ) -> HTMLResponse:
        """Report through the form: the reference on success, else the form with errors."""
        language = choose_language(lang, request.headers.get("accept-language"))
        if request.headers.get("content-type", "").split(";")[0].strip() != FORM:
            return form(request, 415, language, problem="error_unreadable")
        values = _form_values(await request.body())
        language = choose_language(
            values.get("lang") or lang, request.headers.get("accept-language")
        )
        now = desk.now()
        cookie = request.cookies.get(COOKIE, "")
        if not submission_valid(
            secret,
            field=values.get("csrf_token", ""),
            cookie=cookie,
            now=now,
            max_age=TOKEN_MAX_AGE,
        ):
            # The values are not shown again: they may be another site's.
            return form(request, 403, language, problem="error_expired")
        client = request.client.host if request.client else "unknown"
        if not limit.allow(client, now=now):
            answer = form(request, 429, language, values=values, problem="error_rate_limited")
            answer.headers["Retry-After"] = "60"
            return answer
        read = read_form(values)
        if isinstance(read, dict):
            return form(request, 422, language, values=values, errors=read)
        try:
            outcome = await desk.report(
                read.to_report(language),
                request=read.model_dump(mode="json"),
                idempotency_key=f"web:{values.get('form_id', '')}"
                if values.get("form_id")
                else None,
            )
        except domain.IdempotencyKeyReused:
            return form(request, 422, language, values=values, problem="error_already_sent")
        incident = outcome.incident
        return render(
            "report_sent.html", 201, language, None, reference=incident.reference, email=read.email
        )

    return router


def _form_values(body: bytes) -> dict[str, str]:
    """The form's fields, the first of each name; undecodable bytes become U+FFFD."""
    pairs = urllib.parse.parse_qsl(
        body.decode("utf-8", "replace"), keep_blank_values=True, max_num_fields=50
    )
    values: dict[str, str] = {}
    for name, value in pairs:
        values.setdefault(name, value)
    return values


def form_secret(configured: str | None) -> bytes:
    """The configured secret, else one for this process only."""
    return configured.encode() if configured else secrets.token_bytes(32)
