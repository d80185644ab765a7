"""create_app: the router's runtime, Kafka subscriber, HTTP routes and metrics wired together."""

import asyncio
import logging

from fastapi import FastAPI
from incident_events.routing import AssignmentQueued, IncidentAssigned
from incident_kit.asyncapi import declare_publications
from incident_kit.clock import Clock
from incident_kit.http import api_key_guard
from incident_kit.service import BackgroundLoop, Runtime, build_app, build_runtime

from router import repository
from router.api import routing_router
from router.config import RouterSettings
from router.handlers import register_handlers
from router.metrics import RouterMetrics
from router.tables import inbox, outbox

log = logging.getLogger(__name__)


def create_app(settings: RouterSettings, clock: Clock) -> FastAPI:
    runtime = build_runtime("router", settings, clock, outbox=outbox, inbox=inbox)
    declare_publications(runtime, [IncidentAssigned, AssignmentQueued])
    metrics = RouterMetrics(runtime.metrics.registry)
    register_handlers(runtime, metrics)
    runtime.background.append(queue_depth_refresher(runtime, settings, metrics))
    guard = api_key_guard(settings.api_key_set)
    return build_app(
        runtime,
        title="router",
        description="Assigns incidents to agents by skill, language and severity within "
        "capacity, queues what cannot be placed, and says why for every decision.",
        routers=[routing_router(runtime, metrics, guard)],
    )


def queue_depth_refresher(
    runtime: Runtime, settings: RouterSettings, metrics: RouterMetrics
) -> BackgroundLoop:
    """Keeps queue_depth true on every replica, also on one that routes nothing for a while."""

    async def loop() -> None:
        while True:
            try:
                async with runtime.sessions() as session:
                    metrics.queue_depth.set(await repository.queue_depth(session))
            except Exception:  # the database may be briefly away; the next round retries
                log.warning("could not refresh queue_depth", exc_info=True)
            await asyncio.sleep(settings.queue_depth_refresh_seconds)

    return loop
