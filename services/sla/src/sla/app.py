"""Wiring of the sla service: runtime, Kafka handlers, the clock timer and the HTTP API."""

from fastapi import FastAPI
from incident_events.sla import SlaBreached, SlaClockStarted, SlaMet, SlaWarning
from incident_kit.asyncapi import declare_publications
from incident_kit.clock import Clock
from incident_kit.http import api_key_guard
from incident_kit.service import build_app, build_runtime

from sla.api import incidents_router, policies_router
from sla.config import SlaSettings
from sla.handlers import register_handlers
from sla.metrics import SlaMetrics
from sla.tables import inbox, outbox
from sla.timer import ClockTimer


def create_app(settings: SlaSettings, clock: Clock) -> FastAPI:
    runtime = build_runtime("sla", settings, clock, outbox=outbox, inbox=inbox)
    declare_publications(runtime, [SlaClockStarted, SlaWarning, SlaBreached, SlaMet])
    sla_metrics = SlaMetrics(runtime.metrics.registry)
    register_handlers(runtime, sla_metrics)
    timer = ClockTimer(
        sessions=runtime.sessions,
        clock=clock,
        sla_metrics=sla_metrics,
        tick_seconds=settings.tick_seconds,
        batch_size=settings.fire_batch_size,
    )
    runtime.background.append(timer.run)
    guard = api_key_guard(settings.api_key_set)
    app = build_app(
        runtime,
        title="sla",
        description="SLA policies and durable clocks: warnings, breaches and met targets.",
        routers=[policies_router(runtime, guard), incidents_router(runtime, guard)],
    )
    # Tests move a FrozenClock and call app.state.timer.fire_due_clocks(now=...) directly.
    app.state.timer = timer
    return app
