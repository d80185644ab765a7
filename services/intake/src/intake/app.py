"""create_app: intake's runtime, Kafka subscriber and HTTP routes wired together."""

from fastapi import FastAPI
from incident_events.incidents import (
    IncidentCommented,
    IncidentKindChanged,
    IncidentReopened,
    IncidentReported,
    IncidentResolved,
    IncidentSeverityChanged,
    IncidentStatusChanged,
)
from incident_kit.asyncapi import declare_publications
from incident_kit.clock import Clock
from incident_kit.http import api_key_guard
from incident_kit.service import build_app, build_runtime

from intake.api import incidents_router
from intake.changes_api import changes_router
from intake.channels.wiring import install_channels
from intake.config import IntakeSettings
from intake.handlers import register_handlers
from intake.metrics import IntakeMetrics
from intake.tables import inbox, outbox


def create_app(settings: IntakeSettings, clock: Clock) -> FastAPI:
    runtime = build_runtime("intake", settings, clock, outbox=outbox, inbox=inbox)
    declare_publications(
        runtime,
        [
            IncidentReported,
            IncidentStatusChanged,
            IncidentCommented,
            IncidentResolved,
            IncidentReopened,
            IncidentSeverityChanged,
            IncidentKindChanged,
        ],
    )
    metrics = IntakeMetrics(runtime.metrics.registry)
    register_handlers(runtime)
    guard = api_key_guard(settings.api_key_set)
    return build_app(
        runtime,
        title="intake",
        description="Accepts incidents, deduplicates them, runs their lifecycle and publishes it.",
        routers=[
            incidents_router(runtime, metrics, guard),
            changes_router(runtime, metrics, guard),
            *install_channels(runtime, metrics, guard),
        ],
        # Reports are taken while Kafka is away: the outbox keeps their events until it is back.
        readiness_needs={"postgresql"},
    )
