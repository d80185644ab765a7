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
from incident_kit.database import create_session_factory
from incident_kit.service import build_app, build_runtime

from intake.api import incidents_router
from intake.auth import Authenticator
from intake.changes_api import changes_router
from intake.channels.wiring import install_channels
from intake.config import IntakeSettings
from intake.customers_api import customers_router
from intake.handlers import register_handlers
from intake.key_retention import idempotency_key_retention
from intake.metrics import IntakeMetrics
from intake.reference_numbers import ReferenceNumbers
from intake.rejections import RejectionCounter
from intake.reporting import Reporting, report_engine
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
    register_handlers(runtime, metrics)
    runtime.background.append(idempotency_key_retention(runtime, settings, metrics).run)
    # API_KEYS are the built-in admin client `env`; others are made by `python -m intake keys`.
    auth = Authenticator(
        env_keys=settings.api_key_set,
        sessions=runtime.sessions,
        clock=clock,
        cache_seconds=settings.api_key_cache_seconds,
    )
    # Groups of reports commit on a pool of their own (intake.reporting.GROUP_SETTINGS).
    reports_engine = report_engine(settings, application_name=runtime.name)
    reporting = Reporting(
        create_session_factory(reports_engine, like=runtime.sessions),
        ReferenceNumbers(settings.reference_block),
        metrics,
    )
    app = build_app(
        runtime,
        title="intake",
        description="Accepts incidents, deduplicates them, runs their lifecycle and publishes it.",
        routers=[
            incidents_router(runtime, metrics, auth, reporting),
            changes_router(runtime, metrics, auth),
            customers_router(runtime, auth),
            *install_channels(runtime, metrics, auth, reporting),
        ],
        # Reports are taken while Kafka is away: the outbox keeps their events until it is back.
        readiness_needs={"postgresql"},
    )
    # After the committers the routers added: their last groups commit first.
    runtime.closers.append(reports_engine.dispose)
    # Outermost, so it also counts what the kit sheds before routing.
    app.add_middleware(RejectionCounter, metrics=metrics)
    return app
