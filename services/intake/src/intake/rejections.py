"""Counting refused requests by reason (intake_requests_rejected_total), for every route and
for what is refused before any route: the reason a route gave (intake.auth tells missing from
invalid keys and scopes), else one read from the status code."""

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from intake.auth import REJECTION_REASON
from intake.metrics import IntakeMetrics

# Probes and metrics answer 503 while not ready: that is their job, not a refusal.
NOT_COUNTED = frozenset({"/healthz", "/readyz", "/metrics"})
REASONS = {
    401: "unauthenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "too_large",
    415: "unsupported_media_type",
    422: "invalid",
    429: "too_many_requests",
}


def rejection_reason(status: int, *, routed: bool, given: object = None) -> str | None:
    """The reason a status refuses a request; None when it does not (2xx, 3xx, a 500)."""
    if isinstance(given, str):
        return given
    if status == 503:
        # The kit sheds overload before routing; a routed 503 is a dependency that is away.
        return "unavailable" if routed else "overloaded"
    if 400 <= status < 500:
        return REASONS.get(status, f"client_error_{status}")
    return None


class RejectionCounter:
    def __init__(self, app: ASGIApp, metrics: IntakeMetrics) -> None:
        self.app, self.metrics = app, metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in NOT_COUNTED:
            await self.app(scope, receive, send)
            return
        status = 500

        async def recording_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, recording_send)
        finally:
            route = getattr(scope.get("route"), "path", None)
            given = scope.get("state", {}).get(REJECTION_REASON)
            reason = rejection_reason(status, routed=route is not None, given=given)
            if reason is not None:
                self.metrics.rejected.labels(route or "unmatched", reason).inc()
