"""The channels wired into intake's runtime: their routers, and the inbound mail server among
the runtime's background loops (started and stopped with the app)."""

import logging

from fastapi import APIRouter
from incident_kit.service import BackgroundLoop, Runtime

from intake.api import intake_settings
from intake.auth import Authenticator
from intake.channels.alertmanager import AlertRules
from intake.channels.alertmanager_api import alertmanager_router
from intake.channels.desk import ChannelDesk
from intake.channels.mailbox import Mailbox
from intake.channels.pagerduty_api import SenderFinder, events_router
from intake.channels.smtp_server import inbound_mail_loop
from intake.channels.web_form_api import form_secret, web_form_router
from intake.config import IntakeSettings
from intake.metrics import IntakeMetrics
from intake.reporting import Reporting

log = logging.getLogger(__name__)


def install_channels(
    runtime: Runtime,
    metrics: IntakeMetrics,
    auth: Authenticator,
    reporting: Reporting,
) -> list[APIRouter]:
    """The routers of the channels; the SMTP server joins the runtime's background loops when
    INTAKE_SMTP_PORT is set."""
    settings = intake_settings(runtime)
    desk = ChannelDesk(runtime, metrics, reporting)
    if settings.smtp_port is not None:
        runtime.background.append(_inbound_mail(desk, settings))
    return [
        alertmanager_router(desk, _alert_rules(settings), auth),
        events_router(desk, SenderFinder(settings.routing_key_customers, auth)),
        _web_form(desk, settings),
    ]


def _alert_rules(settings: IntakeSettings) -> AlertRules:
    return AlertRules(
        severity_label=settings.alertmanager_severity_label,
        severities=settings.alertmanager_severities,
        default_severity=settings.alertmanager_default_severity,
        customer_label=settings.alertmanager_customer_label,
    )


def _inbound_mail(desk: ChannelDesk, settings: IntakeSettings) -> BackgroundLoop:
    return inbound_mail_loop(
        Mailbox(desk, severity=settings.email_severity),
        host=settings.smtp_host,
        port=settings.smtp_port or 0,
        max_bytes=settings.smtp_max_message_bytes,
        reuse_port=settings.processes > 1,
    )


def _web_form(desk: ChannelDesk, settings: IntakeSettings) -> APIRouter:
    configured = settings.form_secret
    if configured is None and settings.processes > 1:
        log.warning("INTAKE_FORM_SECRET is unset: a form served by one process fails in another")
    return web_form_router(
        desk,
        secret=form_secret(configured.get_secret_value() if configured else None),
        reports_per_minute=settings.form_reports_per_minute,
    )
