"""The channels wired into intake's runtime: their routers, and the inbound mail server among
the runtime's background loops (started and stopped with the app)."""

from collections.abc import Awaitable, Callable

from fastapi import APIRouter
from incident_kit.service import Runtime

from intake.api import intake_settings
from intake.channels.alertmanager import AlertRules
from intake.channels.alertmanager_api import alertmanager_router
from intake.channels.desk import ChannelDesk
from intake.channels.mailbox import Mailbox
from intake.channels.pagerduty_api import events_router
from intake.channels.smtp_server import inbound_mail_loop
from intake.channels.web_form_api import form_secret, web_form_router
from intake.metrics import IntakeMetrics


def install_channels(
    runtime: Runtime, metrics: IntakeMetrics, guard: Callable[..., Awaitable[str]]
) -> list[APIRouter]:
    """The routers of the channels; the SMTP server joins the runtime's background loops when
    INTAKE_SMTP_PORT is set."""
    settings = intake_settings(runtime)
    desk = ChannelDesk(runtime, metrics)
    rules = AlertRules(
        severity_label=settings.alertmanager_severity_label,
        severities=settings.alertmanager_severities,
        default_severity=settings.alertmanager_default_severity,
        customer_label=settings.alertmanager_customer_label,
    )
    if settings.smtp_port is not None:
        mailbox = Mailbox(desk, severity=settings.email_severity)
        serve = inbound_mail_loop(
            mailbox,
            host=settings.smtp_host,
            port=settings.smtp_port,
            max_bytes=settings.smtp_max_message_bytes,
            reuse_port=settings.processes > 1,
        )
        runtime.background.append(serve)
    return [
        alertmanager_router(desk, rules, guard),
        events_router(desk, settings.routing_key_customers),
        web_form_router(
            desk,
            secret=form_secret(
                settings.form_secret.get_secret_value() if settings.form_secret else None
            ),
            reports_per_minute=settings.form_reports_per_minute,
        ),
    ]
