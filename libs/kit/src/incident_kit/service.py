"""Wiring shared by every service: the runtime (database, broker, outbox relay, metrics) and the
FastAPI app around it, with a lifespan that starts and stops everything in order.

Shutdown stops the broker first, which lets the in-flight batch finish (FastStream's graceful
timeout), then the background loops, the relay and the database.

The app sheds HTTP requests past `max_in_flight_requests` (incident_kit.overload); /readyz asks
the checks a service needs, /healthz whether its consumers and background tasks still run
(incident_kit.probes). Its OpenAPI documents every problem+json answer (incident_kit.openapi).
"""

import asyncio
import contextlib
import gc
import logging
import os
import signal
from collections.abc import AsyncIterator, Awaitable, Callable, Collection, Coroutine, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from aiokafka import AIOKafkaProducer
from fastapi import APIRouter, FastAPI
from faststream.kafka import KafkaBroker
from faststream.kafka.prometheus import KafkaPrometheusMiddleware
from incident_events import EventData
from prometheus_client import CollectorRegistry
from sqlalchemy import Table
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from incident_kit.asyncapi import asyncapi_router
from incident_kit.cli import SUPERVISED_WORKER
from incident_kit.clock import Clock
from incident_kit.database import create_engine, create_session_factory
from incident_kit.http import RequestMetrics, probes_router
from incident_kit.kafka import broker_security, client_options
from incident_kit.logs import configure_logging
from incident_kit.metrics import ServiceMetrics
from incident_kit.openapi import install_problem_documentation
from incident_kit.outbox import wake_relay_after_commits
from incident_kit.overload import InFlightLimit, OverloadMetrics
from incident_kit.probes import Liveness, Readiness, database_check
from incident_kit.problems import BodySizeLimit, install_problem_handlers
from incident_kit.relay import OutboxRelay
from incident_kit.retention import Retention
from incident_kit.settings import ServiceSettings

log = logging.getLogger(__name__)
# How often a worker of several looks at its own liveness (see _leave_when_failing).
LIVENESS_CHECK_SECONDS = 1.0
BackgroundLoop = Callable[[], Coroutine[Any, Any, None]]


@dataclass
class Runtime:
    """Everything a service's handlers and routes need, built once in create_app."""

    name: str
    settings: ServiceSettings
    clock: Clock
    metrics: ServiceMetrics
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    broker: KafkaBroker
    producer: AIOKafkaProducer
    relay: OutboxRelay
    outbox: Table
    inbox: Table
    # Per topic, the event payloads this service's subscribers act on (for the AsyncAPI page).
    consumes: dict[str, list[type[EventData]]] = field(default_factory=dict)
    publishes: dict[str, list[type[EventData]]] = field(default_factory=dict)
    background: list[BackgroundLoop] = field(default_factory=list)
    # Awaited at shutdown once no message is in flight, e.g. to close a kept-open connection.
    closers: list[Callable[[], Awaitable[None]]] = field(default_factory=list)


def build_runtime(
    name: str, settings: ServiceSettings, clock: Clock, *, outbox: Table, inbox: Table
) -> Runtime:
    configure_logging(name, settings.log_level)
    metrics = ServiceMetrics(CollectorRegistry(), name)
    engine = create_engine(
        settings.database_url,
        application_name=name,
        pool_timeout_seconds=settings.database_pool_timeout_seconds,
    )
    sessions = create_session_factory(engine)
    producer = AIOKafkaProducer(
        **client_options(settings),
        client_id=f"{name}-outbox",
        enable_idempotence=True,
        acks="all",
        # No lingering: the relay hands a claimed batch's rows over before awaiting any
        # acknowledgement, so they share record batches anyway, and every hop of an incident
        # would wait the linger out (two hops from a report to its assignment).
        linger_ms=0,
    )
    broker = _build_broker(name, settings, metrics)
    relay = OutboxRelay(
        session_factory=sessions,
        table=outbox,
        producer=producer,
        database_url=settings.database_url,
        clock=clock,
        metrics=metrics,
        poll_seconds=settings.outbox_poll_seconds,
        retention=timedelta(hours=settings.outbox_retention_hours),
        topic_prefix=settings.kafka_topic_prefix,
    )
    # Our own commits wake the relay in-process; the relay's poll finds other replicas' rows.
    wake_relay_after_commits(sessions, relay.wake)
    runtime = Runtime(
        name, settings, clock, metrics, engine, sessions, broker, producer, relay, outbox, inbox
    )
    claims = Retention(
        sessions,
        inbox.c.processed_at,
        clock,
        timedelta(hours=settings.inbox_retention_hours),
        metrics.inbox_pruned,
        every=settings.retention_prune_seconds,
    )
    runtime.background.append(claims.run)
    return runtime


def _build_broker(name: str, settings: ServiceSettings, metrics: ServiceMetrics) -> KafkaBroker:
    return KafkaBroker(
        settings.kafka_bootstrap_servers,
        client_id=name,
        security=broker_security(settings),
        graceful_timeout=15.0,
        log_level=logging.DEBUG,  # per-batch logs only when debugging
        middlewares=[KafkaPrometheusMiddleware(registry=metrics.registry, app_name=name)],
    )


# What /readyz checks; a service that can do its job without one of them needs fewer.
READINESS_CHECKS = frozenset({"postgresql", "kafka"})


def build_app(
    runtime: Runtime,
    *,
    title: str,
    description: str,
    routers: Sequence[APIRouter],
    readiness_needs: Collection[str] = READINESS_CHECKS,
) -> FastAPI:
    needs = frozenset(readiness_needs)
    if not needs <= READINESS_CHECKS:
        raise ValueError(f"readiness_needs: unknown checks {sorted(needs - READINESS_CHECKS)}")
    liveness = Liveness(lambda: runtime.broker.subscribers)
    app = FastAPI(
        title=title,
        description=description,
        version="1.0.0",
        lifespan=_lifespan(runtime, liveness),
    )
    install_problem_handlers(app)
    install_problem_documentation(app)
    for router in routers:
        app.include_router(router)
    app.include_router(
        probes_router(runtime.metrics, _readiness(runtime), needs=needs, liveness=liveness)
    )
    app.include_router(asyncapi_router(runtime, title, description))
    settings = runtime.settings
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    app.add_middleware(RequestMetrics, metrics=runtime.metrics)
    # Outermost: a shed request costs no routing, no body and no metrics by route.
    app.add_middleware(
        InFlightLimit,
        limit=settings.max_in_flight_requests,
        retry_after_seconds=settings.overload_retry_after_seconds,
        metrics=OverloadMetrics(runtime.metrics.registry),
    )
    return app


def _readiness(runtime: Runtime) -> Callable[[], Awaitable[dict[str, bool]]]:
    settings = runtime.settings
    timeout = settings.readiness_timeout_seconds
    checks = {
        "postgresql": database_check(
            settings.database_url, application_name=f"{runtime.name} readiness"
        ),
        "kafka": lambda: runtime.broker.ping(timeout=timeout),
    }

    return Readiness(checks, timeout=timeout)


Lifespan = Callable[[FastAPI], contextlib.AbstractAsyncContextManager[None]]


def _lifespan(runtime: Runtime, liveness: Liveness) -> Lifespan:
    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        await runtime.producer.start()
        await runtime.relay.start()
        await runtime.broker.start()
        loops = [asyncio.create_task(loop()) for loop in runtime.background]
        _watch(liveness, runtime, loops)
        watchdog = None
        if os.environ.get(SUPERVISED_WORKER):
            watchdog = asyncio.create_task(_leave_when_failing(liveness), name="leave-if-failing")
        # What exists by now (modules, models, compiled schemas and statements, clients) lives as
        # long as the process. Frozen, a full collection no longer walks it; unfrozen, one took
        # 84 to 216 ms here under load, stalling every batch and request in flight.
        gc.collect()
        gc.freeze()
        log.info("%s started", runtime.name)
        try:
            yield
        finally:
            if watchdog is not None:
                watchdog.cancel()
            liveness.stop_watching()
            await runtime.broker.stop()  # waits for the in-flight batch
            for task in loops:
                task.cancel()
            await asyncio.gather(*loops, return_exceptions=True)
            for close in runtime.closers:
                await close()
            await runtime.relay.stop()
            await runtime.producer.stop()
            await runtime.engine.dispose()
            log.info("%s stopped", runtime.name)

    return lifespan


async def _leave_when_failing(liveness: Liveness) -> None:
    """In one of several worker processes: the probes reach this worker only now and then, so a
    worker whose consumer or background task has ended stops by itself (SIGTERM to itself: the
    server's graceful shutdown), and its parent starts a fresh one."""
    # Polled: a consumer's consume task can only be looked at, not awaited.
    while True:
        failures = liveness.failures()
        if failures:
            break
        await asyncio.sleep(LIVENESS_CHECK_SECONDS)
    log.error("this worker stops for its parent to start a fresh one: %s", "; ".join(failures))
    os.kill(os.getpid(), signal.SIGTERM)


def _watch(liveness: Liveness, runtime: Runtime, loops: list[asyncio.Task[None]]) -> None:
    for loop, task in zip(runtime.background, loops, strict=True):
        liveness.watch(f"background loop {getattr(loop, '__qualname__', loop)}", task)
    # The relay's tasks (publishing, the backlog gauge) are only reachable through its privates.
    for task in runtime.relay.tasks:
        liveness.watch(f"outbox relay task {task.get_name()}", task)
