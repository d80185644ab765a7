"""RFC 9457 problem details for every HTTP error, and a request body size limit.

Validation errors name each bad field (e.g. `body.customer.email`), so a caller can fix its
request without reading our code. A lost database connection or a wait for a pooled one past
the pool timeout answers 503 with Retry-After, for the client to retry (with its
Idempotency-Key where the route takes one).
"""

import logging
from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from incident_kit.errors import is_infrastructure_error

PROBLEM_JSON = "application/problem+json"
log = logging.getLogger(__name__)


class Problem(HTTPException):
    """An error a route raises to answer with problem+json. An HTTPException, so that FastAPI
    lets it through where it turns other errors into its own (e.g. while reading the body)."""

    def __init__(self, status: int, title: str, detail: str = "", **extra: Any) -> None:
        super().__init__(status, detail or title)
        self.status, self.title, self.detail, self.extra = status, title, detail, extra


def problem_response(
    status: int,
    title: str,
    detail: str = "",
    instance: str = "",
    headers: Mapping[str, str] | None = None,
    **extra: Any,
) -> JSONResponse:
    body = {
        "type": "about:blank",
        "title": title,
        "status": status,
        "detail": detail,
        "instance": instance,
        **extra,
    }
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def _field_errors(error: RequestValidationError) -> list[dict[str, str]]:
    return [
        {"field": ".".join(str(part) for part in item["loc"]), "message": item["msg"]}
        for item in error.errors()
    ]


def install_problem_handlers(app: FastAPI) -> None:
    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, error: RequestValidationError) -> JSONResponse:
        errors = _field_errors(error)
        detail = "; ".join(f"{e['field']}: {e['message']}" for e in errors[:5])
        return problem_response(422, "Invalid request", detail, request.url.path, errors=errors)

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, error: HTTPException) -> JSONResponse:
        headers = error.headers
        if error.status_code == 405:
            headers = {**(headers or {}), "Allow": _allowed_methods(request)}
        return problem_response(
            error.status_code,
            str(error.detail),
            str(error.detail),
            request.url.path,
            headers=headers,
        )

    @app.exception_handler(Problem)
    async def domain_problem(request: Request, error: Problem) -> JSONResponse:
        return problem_response(
            error.status, error.title, error.detail, request.url.path, **error.extra
        )

    @app.exception_handler(DBAPIError)
    async def database_error(request: Request, error: DBAPIError) -> JSONResponse:
        if error.connection_invalidated:
            # The pool has been renewed by now, so trying again soon is likely to work.
            log.warning("database connection lost on %s: %s", request.url.path, error.orig)
            return problem_response(
                503,
                "Database connection lost",
                "The request was not carried out; send it again.",
                request.url.path,
                headers={"Retry-After": "1"},
            )
        return await unexpected(request, error)

    @app.exception_handler(PoolTimeout)
    async def no_connection_in_time(request: Request, error: PoolTimeout) -> JSONResponse:
        # Every pooled connection stayed busy for the pool timeout: answer now, while the
        # client still waits, rather than queue it longer behind the others.
        log.warning("no database connection in time on %s", request.url.path)
        return problem_response(
            503,
            "Database busy",
            "No database connection was free in time; send the request again.",
            request.url.path,
            headers={"Retry-After": "1"},
        )

    @app.exception_handler(Exception)
    async def unexpected(request: Request, error: Exception) -> JSONResponse:
        if is_infrastructure_error(error):
            # The database is down or refused us (a restart, a failover): not the request's fault.
            log.warning("dependency unavailable on %s: %s", request.url.path, type(error).__name__)
            return problem_response(
                503,
                "Service temporarily unavailable",
                "A dependency is unavailable; the request was not carried out. Send it again.",
                request.url.path,
                headers={"Retry-After": "2"},
            )
        log.exception("unhandled error on %s", request.url.path)
        return problem_response(500, "Internal error", "The error was logged.", request.url.path)


# The methods a 405 may list; OPTIONS and TRACE are answered by no route here.
_ROUTABLE_METHODS = ("DELETE", "GET", "HEAD", "PATCH", "POST", "PUT")


def _allowed_methods(request: Request) -> str:
    """Every method a route answers at this path: Starlette's 405 names only the first route's,
    while one path often has several (GET, PUT and DELETE of an agent). Each is asked of the
    routes as a request would be, included routers too."""
    routes = request.app.router.routes
    return ", ".join(
        method
        for method in _ROUTABLE_METHODS
        if any(
            route.matches({**request.scope, "method": method})[0] == Match.FULL for route in routes
        )
    )


class BodySizeLimit:
    """Refuse request bodies above a limit with 413 before reading them into memory."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app, self.max_bytes = app, max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await self._refuse(scope, receive, send)
            return
        received = 0

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > self.max_bytes:
                raise Problem(413, "Request body too large", f"limit is {self.max_bytes} bytes")
            return message

        await self.app(scope, counting_receive, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = problem_response(
            413, "Request body too large", f"limit is {self.max_bytes} bytes", scope["path"]
        )
        await response(scope, receive, send)
