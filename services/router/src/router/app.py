"""create_app: the router's runtime, Kafka subscriber, HTTP routes and metrics wired together."""

from fastapi import FastAPI
from incident_events.routing import AssignmentQueued, IncidentAssigned
from incident_kit.asyncapi import declare_publications
from incident_kit.clock import Clock
from incident_kit.http import api_key_guard
from incident_kit.service import build_app, build_runtime

from router.api import routing_router
from router.config import RouterSettings
from router.handlers import register_handlers
from router.metrics import RouterMetrics
from router.queue_depth import QueueDepth
from router.tables import inbox, outbox


def create_app(settings: RouterSettings, clock: Clock) -> FastAPI:
    runtime = build_runtime("router", settings, clock, outbox=outbox, inbox=inbox)
    declare_publications(runtime, [IncidentAssigned, AssignmentQueued])
    metrics = RouterMetrics(runtime.metrics.registry)
    queue = QueueDepth(runtime.sessions, metrics.queue_depth, settings.queue_depth_refresh_seconds)
    runtime.background.append(queue.run)
    register_handlers(runtime, metrics, queue)
    guard = api_key_guard(settings.api_key_set)
    return build_app(
        runtime,
        title="router",
        description="Assigns incidents to agents by skill, language and severity within "
        "capacity, queues what cannot be placed, and says why for every decision.",
        routers=[routing_router(runtime, metrics, queue, guard)],
    )
