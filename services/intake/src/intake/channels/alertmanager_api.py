"""POST /v1/integrations/alertmanager: Prometheus Alertmanager's webhook receiver, authenticated
like the rest of the API (Alertmanager sends the key with `http_config.authorization`); the key
must hold `report`, and its client owns the incidents: their dedup_keys are that client's, so
another client's alerts never resolve them.

Each alert is answered on its own: opened, updated (a repeat of a firing alert whose severity
changed), unchanged, resolved, or not_open (resolved with no open incident to resolve). A
database outage answers 503, which Alertmanager retries; a repeat is harmless, being keyed.
"""

import asyncio
from typing import Annotated, Literal

from fastapi import APIRouter, Depends
from pydantic import BaseModel

from intake.auth import AUTH_RESPONSES, Authenticator
from intake.channels.alertmanager import (
    SOURCE,
    Alert,
    AlertmanagerNotification,
    AlertRules,
    dedup_key,
    report_of,
    resolution_summary,
)
from intake.channels.desk import ChannelDesk, Resolution
from intake.domain import Client, Incident, Scope

Outcome = Literal["opened", "updated", "unchanged", "resolved", "not_open"]


class AlertOutcome(BaseModel):
    fingerprint: str | None
    dedup_key: str
    status: Literal["firing", "resolved"]
    outcome: Outcome
    incident_id: str | None
    reference: str | None


class AlertmanagerAnswer(BaseModel):
    receiver: str
    alerts: list[AlertOutcome]


def alertmanager_router(desk: ChannelDesk, rules: AlertRules, auth: Authenticator) -> APIRouter:
    router = APIRouter(prefix="/v1/integrations", tags=["integrations"])
    reporter = auth.requiring(Scope.REPORT)

    async def fire(
        client: Client, notification: AlertmanagerNotification, alert: Alert
    ) -> AlertOutcome:
        report = report_of(notification, alert, rules)
        reported = await desk.report(report, client=client)
        incident = reported.incident
        outcome: Outcome = "opened" if reported.created else "unchanged"
        if not reported.created and incident.severity != report.severity:
            incident, updated = await desk.update_severity(
                incident,
                report.severity,
                reason="Alertmanager reported another severity for the alert",
                changed_by=SOURCE,
            )
            outcome = "updated" if updated else "unchanged"
        return _answer(alert, report.dedup_key or "", outcome, incident)

    async def resolve(
        client: Client, notification: AlertmanagerNotification, alert: Alert
    ) -> AlertOutcome:
        key = dedup_key(notification.group_key, alert)
        resolution = Resolution(
            client=client,
            dedup_key=key,
            reason="Alertmanager reported the alert resolved",
            summary=resolution_summary(alert),
            resolved_by=SOURCE,
        )
        incident = await desk.resolve(resolution)
        return _answer(alert, key, "resolved" if incident else "not_open", incident)

    @router.post(
        "/alertmanager",
        responses={
            **AUTH_RESPONSES,
            422: {"description": "A malformed notification; `errors` names each field"},
        },
    )
    async def alertmanager_webhook(
        notification: AlertmanagerNotification, client: Annotated[Client, Depends(reporter)]
    ) -> AlertmanagerAnswer:
        """Alertmanager's webhook (payload version 4). A firing alert opens an incident, or
        finds the one it opened (updating its severity); a resolved alert resolves it. Severity
        comes from a label through INTAKE_ALERTMANAGER_SEVERITY_MAP."""
        handled = [
            fire(client, notification, alert)
            if alert.status == "firing"
            else resolve(client, notification, alert)
            for alert in notification.alerts
        ]
        # Together: the firing alerts' reports share a group commit.
        outcomes = await asyncio.gather(*handled)
        return AlertmanagerAnswer(receiver=notification.receiver, alerts=list(outcomes))

    return router


def _answer(alert: Alert, key: str, outcome: Outcome, incident: Incident | None) -> AlertOutcome:
    return AlertOutcome(
        fingerprint=alert.fingerprint,
        dedup_key=key,
        status=alert.status,
        outcome=outcome,
        incident_id=incident.incident_id if incident else None,
        reference=incident.reference if incident else None,
    )
