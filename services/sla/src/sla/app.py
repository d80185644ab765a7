"""Wiring of the sla service: runtime, Kafka handlers, the clock timer and the HTTP API."""

from datetime import timedelta
from functools import partial

from fastapi import FastAPI
from incident_events import EventData, Topic
from incident_events.sla import (
    SlaBreached,
    SlaBreachRetracted,
    SlaClockStarted,
    SlaMet,
    SlaWarning,
)
from incident_kit.asyncapi import declare_publications
from incident_kit.clock import Clock
from incident_kit.http import api_key_guard
from incident_kit.service import build_app, build_runtime

from sla.api import incidents_router, policies_router
from sla.config import SlaSettings
from sla.gauges import refresh_running_clocks
from sla.handlers import register_handlers
from sla.metrics import SlaMetrics
from sla.policy_cache import PolicyCache
from sla.progress import GroupProgress
from sla.tables import inbox, outbox
from sla.timer import ClockTimer, clock_time, database_time

PUBLISHES: list[type[EventData]] = [
    SlaClockStarted,
    SlaWarning,
    SlaBreached,
    SlaMet,
    SlaBreachRetracted,
]


def create_app(settings: SlaSettings, clock: Clock, *, timer_clock: Clock | None = None) -> FastAPI:
    """The sla app. Its timer keeps PostgreSQL's time unless a test gives it `timer_clock`."""
    runtime = build_runtime("sla", settings, clock, outbox=outbox, inbox=inbox)
    declare_publications(runtime, PUBLISHES)
    sla_metrics = SlaMetrics(runtime.metrics.registry)
    policies = PolicyCache(settings.policy_cache_seconds)
    register_handlers(runtime, sla_metrics, policies)
    prefix = settings.kafka_topic_prefix
    # The consumer group whose progress releases breaches: the one subscribe_all() puts sla in.
    progress = GroupProgress(settings, topic=prefix + str(Topic.INCIDENTS), group=prefix + "sla")
    runtime.closers.append(progress.close)
    timer = ClockTimer(
        sessions=runtime.sessions,
        now=database_time(runtime.sessions) if timer_clock is None else clock_time(timer_clock),
        progress=progress,
        sla_metrics=sla_metrics,
        grace=timedelta(seconds=settings.watermark_grace_seconds),
        tick_seconds=settings.tick_seconds,
        batch_size=settings.fire_batch_size,
    )
    runtime.background.append(timer.run)
    runtime.background.append(
        partial(
            refresh_running_clocks,
            runtime.sessions,
            sla_metrics,
            every_seconds=settings.gauge_refresh_seconds,
        )
    )
    guard = api_key_guard(settings.api_key_set)
    app = build_app(
        runtime,
        title="sla",
        description="SLA policies and durable clocks: warnings, breaches and met targets.",
        routers=[policies_router(runtime, guard, policies), incidents_router(runtime, guard)],
    )
    # Tests give a FrozenClock as timer_clock, move it, and may call
    # app.state.timer.fire_due_clocks() for a round at once.
    app.state.timer = timer
    return app
