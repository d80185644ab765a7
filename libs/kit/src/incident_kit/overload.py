"""Load shedding: a bound on the HTTP requests one process works on at once.

Past the bound a request is answered 503 problem+json with `Retry-After` at once, before it is
routed or its body read, instead of queueing behind the others until its client times out and
retries into the same queue. The probes and /metrics are never shed: an overloaded replica is
busy, not broken, and must stay ready, alive and observable.

A plain integer is enough: the event loop runs one coroutine at a time, so the check and the
increment cannot interleave. uvicorn's own `limit_concurrency` is not used: it also counts the
probes, and answers plain text without `Retry-After`.
"""

from prometheus_client import CollectorRegistry, Counter, Gauge
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from incident_kit.problems import problem_response

NEVER_SHED = frozenset({"/healthz", "/readyz", "/metrics"})


class OverloadMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.shed = Counter(
            "http_requests_shed_total",
            "HTTP requests answered 503 at once because too many were in flight",
            registry=registry,
        )
        self.in_flight = Gauge(
            "http_requests_in_flight",
            "HTTP requests admitted and not yet answered (probes and /metrics left out)",
            registry=registry,
            multiprocess_mode="livesum",
        )


class InFlightLimit:
    """Admit at most `limit` requests at once; answer the rest 503 with Retry-After."""

    def __init__(
        self, app: ASGIApp, *, limit: int, retry_after_seconds: int, metrics: OverloadMetrics
    ) -> None:
        self.app, self.limit, self.metrics = app, limit, metrics
        self.retry_after = str(retry_after_seconds)
        self.in_flight = 0
        # Read at scrape time: the hot path only touches the integer.
        metrics.in_flight.set_function(lambda: self.in_flight)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in NEVER_SHED:
            await self.app(scope, receive, send)
            return
        if self.in_flight >= self.limit:
            self.metrics.shed.inc()
            await self._refuse(scope, receive, send)
            return
        self.in_flight += 1
        admitted = True

        def release() -> None:
            nonlocal admitted
            if admitted:
                admitted = False
                self.in_flight -= 1

        async def releasing_send(message: Message) -> None:
            # The slot is freed once the answer starts: a long-lived stream (server-sent
            # events) would otherwise hold it for as long as its client watches.
            if message["type"] == "http.response.start":
                release()
            await send(message)

        try:
            await self.app(scope, receive, releasing_send)
        finally:
            release()

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = problem_response(
            503,
            "Overloaded",
            f"{self.limit} requests are in flight; nothing was done, send it again later.",
            scope["path"],
            headers={"Retry-After": self.retry_after},
        )
        await response(scope, receive, send)
