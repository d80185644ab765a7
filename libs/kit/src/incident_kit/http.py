"""HTTP plumbing shared by every service: request metrics, API-key auth, metrics and probes."""

import secrets
import time
from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from incident_kit.metrics import CONTENT_TYPE_LATEST, ServiceMetrics
from incident_kit.probes import Liveness
from incident_kit.problems import Problem


class RequestMetrics:
    """Counts and times every request by route template (not raw path, to bound cardinality)."""

    def __init__(self, app: ASGIApp, metrics: ServiceMetrics) -> None:
        self.app, self.metrics = app, metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def recording_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, recording_send)
        finally:
            route = getattr(scope.get("route"), "path", "unmatched")
            method = scope["method"]
            self.metrics.http_requests.labels(method, route, str(status)).inc()
            self.metrics.http_latency.labels(method, route).observe(time.perf_counter() - started)


def api_key_guard(keys: frozenset[str]) -> Callable[..., Awaitable[str]]:
    """A dependency admitting requests whose `Authorization: Bearer` is one of `keys`. As a
    security dependency it puts the bearer scheme in OpenAPI, which marks the guarded routes."""
    bearer = HTTPBearer(auto_error=False, description="An API key of this service.")
    # Compared as bytes: compare_digest refuses str with non-ASCII characters (a 500 before).
    known = [key.encode() for key in keys]

    async def require_api_key(
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
    ) -> str:
        if credentials is None:
            raise Problem(
                401,
                "Missing API key",
                "send Authorization: Bearer <key>",
                headers={"WWW-Authenticate": "Bearer"},
            )
        given = credentials.credentials.encode()
        if not any(secrets.compare_digest(given, key) for key in known):
            raise Problem(
                401,
                "Invalid API key",
                "the API key is not known",
                headers={"WWW-Authenticate": "Bearer"},
            )
        return credentials.credentials

    return require_api_key


def probes_router(
    metrics: ServiceMetrics,
    readiness: Callable[[], Awaitable[dict[str, bool]]],
    *,
    needs: frozenset[str],
    liveness: Liveness,
) -> APIRouter:
    """/metrics; /healthz (503 once a consumer or background task died); /readyz (503 while a
    check in `needs` fails; every check is listed)."""
    router = APIRouter(tags=["operations"])

    @router.get("/metrics", include_in_schema=False)
    async def prometheus_metrics() -> Response:
        return Response(metrics.exposition(), media_type=CONTENT_TYPE_LATEST)

    @router.get("/healthz", responses={503: _probe_failing("A consumer or loop has died")})
    async def alive(response: Response) -> dict[str, object]:
        failures = liveness.failures()
        if failures:
            response.status_code = 503
            return {"status": "failing", "failures": failures}
        return {"status": "ok"}

    @router.get("/readyz", responses={503: _probe_failing("A dependency it needs is away")})
    async def ready(response: Response) -> dict[str, object]:
        checks = await readiness()
        is_ready = all(checks[name] for name in needs)
        response.status_code = 200 if is_ready else 503
        return {
            "status": "ready" if is_ready else "not ready",
            "checks": checks,
            "needs": sorted(needs),
        }

    return router


PROBE_BODY = {"type": "object", "additionalProperties": True}


def _probe_failing(description: str) -> dict[str, Any]:
    # A probe's 503 carries the same JSON object as its 200, not a problem.
    return {"description": description, "content": {"application/json": {"schema": PROBE_BODY}}}
