"""How long intake remembers a client's Idempotency-Key: `INTAKE_IDEMPOTENCY_KEY_RETENTION_HOURS`
(24, as Stripe's API keeps them). A retry within it gets the first answer; after it, each
process prunes the key within `INTAKE_RETENTION_PRUNE_SECONDS` (incident_kit.retention), and a
request that brings the key again is a new report. Retries belong in the minutes after a
failure; a report that must never open a second incident carries a `dedup_key`, which holds
for as long as its incident is open."""

from datetime import timedelta
from typing import cast

from incident_kit.retention import Retention
from incident_kit.service import Runtime
from sqlalchemy import Table

from intake.config import IntakeSettings
from intake.metrics import IntakeMetrics
from intake.tables import IdempotencyKeyRow


def idempotency_key_retention(
    runtime: Runtime, settings: IntakeSettings, metrics: IntakeMetrics
) -> Retention:
    keys = cast(Table, IdempotencyKeyRow.__table__)
    return Retention(
        runtime.sessions,
        keys.c.created_at,
        runtime.clock,
        timedelta(hours=settings.idempotency_key_retention_hours),
        metrics.idempotency_keys_expired,
        every=settings.retention_prune_seconds,
    )
