"""create_app: the notifier's runtime, Kafka handlers, SMTP sender and HTTP routes wired up."""

from fastapi import FastAPI
from incident_events.notifications import NotificationDelivered, NotificationFailed
from incident_kit.asyncapi import declare_publications
from incident_kit.clock import Clock
from incident_kit.http import api_key_guard
from incident_kit.service import build_app, build_runtime

from notifier.api import preferences_router, status_router
from notifier.config import NotifierSettings
from notifier.delivery import DeliveryWorker, NotifierMetrics
from notifier.handlers import register_handlers
from notifier.mail import EmailSender, SmtpEmailSender
from notifier.preferences_cache import PreferencesCache
from notifier.tables import inbox, outbox

DESCRIPTION = (
    "Keeps customers informed in their language: acknowledgements with the agreed response "
    "time, apologies for missed windows, the customer status page and preferences."
)


def create_app(
    settings: NotifierSettings, clock: Clock, *, email_sender: EmailSender | None = None
) -> FastAPI:
    runtime = build_runtime("notifier", settings, clock, outbox=outbox, inbox=inbox)
    declare_publications(runtime, [NotificationDelivered, NotificationFailed])
    if email_sender is None:
        smtp = SmtpEmailSender(settings)
        runtime.closers.append(smtp.close)
        email_sender = smtp
    worker = DeliveryWorker(
        runtime, email_sender, NotifierMetrics(runtime.metrics.registry), settings
    )
    runtime.background.append(worker.run)
    preferences = PreferencesCache(settings.preferences_cache_seconds)
    register_handlers(
        runtime, worker=worker, public_url=settings.public_url, preferences=preferences
    )
    guard = api_key_guard(settings.api_key_set)
    return build_app(
        runtime,
        title="notifier",
        description=DESCRIPTION,
        routers=[status_router(runtime), preferences_router(runtime, guard, preferences)],
    )
