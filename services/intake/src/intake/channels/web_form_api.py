"""GET/POST /report: the customer web form, server-rendered in the customer's language (?lang=,
else Accept-Language), public (no API key) but CSRF-protected by signed double submit, limited
per client address and, like every route, in body size and requests in flight.

A post answers 201 with the reference, or the form again with what to correct: 422 for the
fields (each named beside it and in a summary), 403 for a missing or expired token, 415 for a
body that is not a form (400 for one with far more fields), 429 past the rate limit. Posting
the same form twice (a reload) gives the same incident: the form's id is its Idempotency-Key.
Reports come from the built-in client `web-form`, which holds only `report`.
"""

import secrets
import urllib.parse
from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, status
from fastapi.responses import HTMLResponse

from intake import domain
from intake.channels.csrf import submission_valid
from intake.channels.desk import ChannelDesk
from intake.channels.rate_limit import RateLimit
from intake.channels.web_form import FIELDS, WebReport, choose_language, read_form
from intake.channels.web_form_pages import COOKIE, TOKEN_MAX_AGE, FormPages
from intake.domain import WEB_FORM_CLIENT

FORM = "application/x-www-form-urlencoded"
HTML: dict[str, Any] = {"content": {"text/html": {}}}
FORM_FIELDS = (*FIELDS, "csrf_token", "form_id", "lang")
FORM_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            FORM: {
                "schema": {
                    "type": "object",
                    "properties": {name: {"type": "string"} for name in FORM_FIELDS},
                    "required": ["csrf_token", "email", "title", "description"],
                }
            }
        },
    }
}
# Any value is taken: one not supported falls back to the browser's language, never an error.
Lang = Annotated[str | None, Query(description="en, cs, pl or ru")]


def web_form_router(desk: ChannelDesk, *, secret: bytes, reports_per_minute: int) -> APIRouter:
    router = APIRouter(tags=["web form"])
    pages = FormPages(secret=secret, now=desk.now)
    limit = RateLimit(limit=reports_per_minute, window=timedelta(minutes=1))

    def refusal(request: Request, values: dict[str, str], language: str) -> HTMLResponse | None:
        """403 without a valid token, 429 past the limit; None to go on."""
        now, cookie = desk.now(), request.cookies.get(COOKIE, "")
        token = values.get("csrf_token", "")
        if not submission_valid(secret, field=token, cookie=cookie, now=now, max_age=TOKEN_MAX_AGE):
            # What was posted is not shown again: it may be another site's.
            return pages.form(request, 403, language, problem="error_expired")
        if not limit.allow(request.client.host if request.client else "", now=now):
            refused = pages.form(
                request, 429, language, values=values, problem="error_rate_limited"
            )
            refused.headers["Retry-After"] = "60"
            return refused
        return None

    async def report(
        request: Request, read: WebReport, values: dict[str, str], language: str
    ) -> HTMLResponse:
        form_id = values.get("form_id")
        try:
            outcome = await desk.report(
                read.to_report(language),
                client=WEB_FORM_CLIENT,
                request=read.model_dump(mode="json"),
                idempotency_key=f"web:{form_id}" if form_id else None,
            )
        except domain.IdempotencyKeyReused:
            return pages.form(request, 422, language, values=values, problem="error_already_sent")
        return pages.sent(language, reference=outcome.incident.reference, email=read.email)

    @router.get("/report", response_class=HTMLResponse, responses={200: HTML})
    async def report_form(request: Request, lang: Lang = None) -> HTMLResponse:
        """The web form, in ?lang= (en, cs, pl, ru) or the browser's language."""
        return pages.form(request, 200, _language(request, lang))

    @router.post(
        "/report",
        response_class=HTMLResponse,
        status_code=status.HTTP_201_CREATED,
        openapi_extra=FORM_BODY,
        responses={
            201: {**HTML, "description": "Reported: the page with its reference"},
            400: {**HTML, "description": "A body with more fields than the form has"},
            403: {**HTML, "description": "No valid CSRF token (the form again)"},
            415: {**HTML, "description": "Not a form body"},
            422: {**HTML, "description": "Fields to correct, named in the form"},
            429: {**HTML, "description": "Too many reports from this address; Retry-After"},
        },
    )
    async def send_report(request: Request, lang: Lang = None) -> HTMLResponse:
        """Report through the form: the reference on success, else the form with errors."""
        if request.headers.get("content-type", "").split(";")[0].strip().lower() != FORM:
            return pages.form(request, 415, _language(request, lang), problem="error_unreadable")
        try:
            values = _form_values(await request.body())
        except ValueError:  # more fields than any form of ours has
            return pages.form(request, 400, _language(request, lang), problem="error_unreadable")
        language = _language(request, values.get("lang") or lang)
        refused = refusal(request, values, language)
        if refused is not None:
            return refused
        read = read_form(values)
        if isinstance(read, dict):
            return pages.form(request, 422, language, values=values, errors=read)
        return await report(request, read, values, language)

    return router


def _language(request: Request, asked: str | None) -> str:
    return choose_language(asked, request.headers.get("accept-language"))


def _form_values(body: bytes) -> dict[str, str]:
    """The form's fields, the first of each name; undecodable bytes become U+FFFD. More
    than 50 fields raise ValueError."""
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
