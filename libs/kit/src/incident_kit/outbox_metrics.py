"""The outbox quarantine's metrics, beside the kit's `ServiceMetrics` on the service's registry.

`outbox_pending_events` counts only what the relay can publish; the quarantined events and the
events of their incidents held behind them are counted here, so that a quarantine raises its own
alert (IncidentOutboxQuarantined) and not one of a stalled relay.
"""

from prometheus_client import CollectorRegistry, Counter, Gauge


class QuarantineMetrics:
    """The relay's quarantine, on the service's registry (one relay per registry)."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.quarantined = Counter(
            "outbox_events_quarantined_total",
            "Outbox events the relay quarantined: the broker will never take them as they are",
            ["topic"],
            registry=registry,
        )
        self.waiting = Gauge(
            "outbox_quarantined_events",
            "Outbox events quarantined and not yet released by an operator",
            registry=registry,
            multiprocess_mode="mostrecent",
        )
        self.held = Gauge(
            "outbox_held_events",
            "Outbox events held behind a quarantined event of their incident",
            registry=registry,
            multiprocess_mode="mostrecent",
        )
