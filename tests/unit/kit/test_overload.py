"""Load shedding: past the bound a request is answered 503 with Retry-After at once, probes and
/metrics never are, a slot is freed when an answer starts, and every shed request is counted."""

import asyncio

import httpx
from fastapi import FastAPI
from incident_kit.overload import InFlightLimit, OverloadMetrics
from prometheus_client import CollectorRegistry
from starlette.types import Message, Receive, Scope, Send


class GatedApp:
    """An app whose /work requests wait for `gate`, behind the limit."""

    def __init__(self, limit: int) -> None:
        self.gate = asyncio.Event()
        self.entered = 0
        self.arrived = asyncio.Event()
        self.registry = CollectorRegistry()
        app = FastAPI()

        @app.get("/work")
        async def work() -> dict[str, str]:
            self.entered += 1
            self.arrived.set()
            await self.gate.wait()
            return {"done": "yes"}

        @app.get("/healthz")
        async def alive() -> dict[str, str]:
            return {"status": "ok"}

        app.add_middleware(
            InFlightLimit,
            limit=limit,
            retry_after_seconds=2,
            metrics=OverloadMetrics(self.registry),
        )
        self.client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t")

    def sample(self, name: str) -> float:
        return self.registry.get_sample_value(name) or 0.0

    async def until_entered(self, count: int) -> None:
        while self.entered < count:
            self.arrived.clear()
            await self.arrived.wait()


async def test_past_the_bound_requests_are_answered_503_at_once() -> None:
    service = GatedApp(limit=2)
    held = [asyncio.create_task(service.client.get("/work")) for _ in range(2)]
    await service.until_entered(2)
    assert service.sample("http_requests_in_flight") == 2

    shed = await asyncio.wait_for(service.client.get("/work"), timeout=1)
    assert shed.status_code == 503
    assert shed.headers["retry-after"] == "2"
    assert shed.headers["content-type"] == "application/problem+json"
    assert shed.json()["title"] == "Overloaded" and shed.json()["instance"] == "/work"
    assert service.entered == 2  # the shed request never reached the route
    assert service.sample("http_requests_shed_total") == 1

    service.gate.set()
    assert [r.status_code for r in await asyncio.gather(*held)] == [200, 200]
    assert service.sample("http_requests_in_flight") == 0
    assert (await service.client.get("/work")).status_code == 200  # the slots came back


async def test_probes_are_never_shed() -> None:
    service = GatedApp(limit=1)
    held = asyncio.create_task(service.client.get("/work"))
    await service.until_entered(1)
    assert (await service.client.get("/healthz")).status_code == 200
    service.gate.set()
    await held
    assert service.sample("http_requests_shed_total") == 0


async def test_a_stream_frees_its_slot_once_its_answer_starts() -> None:
    # Raw ASGI: httpx's ASGITransport would wait for the whole body of a stream.
    gate = asyncio.Event()

    async def stream(scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await gate.wait()  # a client watching live updates
        await send({"type": "http.response.body", "body": b"", "more_body": False})

    limit = InFlightLimit(
        stream, limit=1, retry_after_seconds=1, metrics=OverloadMetrics(CollectorRegistry())
    )
    answered = asyncio.Event()

    async def record(message: Message) -> None:
        answered.set()

    async def nothing() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    scope = {"type": "http", "path": "/console/events", "method": "GET", "headers": []}
    watching = asyncio.create_task(limit(scope, nothing, record))
    await answered.wait()
    assert limit.in_flight == 0  # the stream is answered: another request may come in
    gate.set()
    await watching
    assert limit.in_flight == 0
