"""Shared test harness: run a service app in-process on the real broker and database, and read
events back from Kafka by condition (never by sleeping)."""

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any, TypeVar
from uuid import uuid4

import httpx
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from fastapi import FastAPI
from incident_events import Event, EventData, parse_event
from incident_kit.migrations import upgrade

REPO = Path(__file__).resolve().parent.parent
T = TypeVar("T")


def migrate(database_url: str, service: str) -> None:
    upgrade(database_url, REPO / "services" / service / "migrations")


@contextlib.asynccontextmanager
async def running_app(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """Enter the app's lifespan (broker, relay, loops) and give an HTTP client to it."""
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            yield client


@contextlib.asynccontextmanager
async def serving(app: FastAPI) -> AsyncIterator[str]:
    """Serve the app on a real loopback port (for a browser), in this event loop."""
    import socket

    import uvicorn

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None))
    task = asyncio.create_task(server.serve())
    try:
        await eventually(lambda: server.started, timeout=60)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


class EventReader:
    """Reads every event on some topics from the start, for assertions by condition."""

    def __init__(self, bootstrap_servers: str, topics: list[str]) -> None:
        self._consumer = AIOKafkaConsumer(
            *topics,
            bootstrap_servers=bootstrap_servers,
            group_id=f"test-{uuid4()}",
            auto_offset_reset="earliest",
            enable_auto_commit=False,
        )
        self.seen: list[Event[EventData]] = []

    async def __aenter__(self) -> "EventReader":
        await self._consumer.start()
        return self

    async def __aexit__(self, *_: object) -> None:
        await self._consumer.stop()

    async def wait_for(
        self, predicate: Callable[[Event[EventData]], bool], timeout: float = 30.0
    ) -> Event[EventData]:
        """The first event matching `predicate`, reading on until it arrives or time runs out."""
        for event in self.seen:
            if predicate(event):
                return event
        deadline = time.monotonic() + timeout
        while (remaining := deadline - time.monotonic()) > 0:
            batches = await self._consumer.getmany(timeout_ms=int(min(remaining, 1.0) * 1000))
            parsed = [_parse_or_none(r.value) for records in batches.values() for r in records]
            fresh = [candidate for candidate in parsed if candidate is not None]
            self.seen.extend(fresh)  # keep the whole batch: later waits may want the rest
            match = next((event for event in fresh if predicate(event)), None)
            if match is not None:
                return match
        raise AssertionError(f"no matching event within {timeout}s; saw {len(self.seen)}")


def _parse_or_none(value: bytes) -> Event[EventData] | None:
    try:
        return parse_event(value)
    except ValueError:
        return None


async def publish_raw(bootstrap_servers: str, topic: str, key: str, value: bytes) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap_servers)
    await producer.start()
    try:
        await producer.send_and_wait(topic, value=value, key=key.encode())
    finally:
        await producer.stop()


async def publish_event(bootstrap_servers: str, event: Event[Any], *, prefix: str = "") -> None:
    """Publish the event to its topic (under the app's KAFKA_TOPIC_PREFIX), keyed by incident."""
    topic = prefix + str(event.data.topic)
    await publish_raw(bootstrap_servers, topic, event.subject, event.to_json())


async def read_raw(
    bootstrap_servers: str, topic: str, predicate: Callable[[Any], bool], timeout: float = 30.0
) -> Any:
    """The first raw record on `topic` (e.g. a dead-letter topic) matching `predicate`."""
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap_servers,
        group_id=f"test-{uuid4()}",
        auto_offset_reset="earliest",
    )
    await consumer.start()
    try:
        deadline = time.monotonic() + timeout
        while (remaining := deadline - time.monotonic()) > 0:
            batches = await consumer.getmany(timeout_ms=int(min(remaining, 1.0) * 1000))
            for records in batches.values():
                for record in records:
                    if predicate(record):
                        return record
        raise AssertionError(f"no matching record on {topic} within {timeout}s")
    finally:
        await consumer.stop()


async def eventually(check: Callable[[], Any], timeout: float = 30.0, every: float = 0.1) -> Any:
    """Poll an async or sync condition until it returns something truthy."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if asyncio.iscoroutine(result):
            result = await result
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(every)


def headers_of(record: Any) -> dict[str, str]:
    return {k: v.decode() for k, v in (record.headers or [])}


def json_of(record: Any) -> Any:
    return json.loads(record.value)


def wait_for(check: Callable[[], T | None], *, what: str, timeout: float = 60.0) -> T:
    """Poll a sync condition (a process, a port) until it returns something truthy; return it."""
    deadline = time.monotonic() + timeout
    while not (result := check()):
        assert time.monotonic() < deadline, f"not in time: {what}"
        time.sleep(0.05)
    return result
