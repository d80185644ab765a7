"""SLA policies, pure: the targets an incident gets, by the policy that matches it."""

from collections.abc import Iterable
from dataclasses import dataclass

from incident_events.types import SlaMetric


@dataclass(frozen=True)
class Policy:
    """Targets for the incidents it matches; an empty match list matches any value."""

    policy_id: str
    name: str
    priority: int  # lower wins when several policies match
    first_response_seconds: int
    resolution_seconds: int
    match_tiers: tuple[str, ...] = ()
    match_severities: tuple[str, ...] = ()
    match_kinds: tuple[str, ...] = ()
    update_interval_seconds: int | None = None
    warn_at_percent: tuple[int, ...] = ()
    calendar: str = "24x7"

    def matches(self, *, tier: str, severity: str, kind: str) -> bool:
        wanted = (
            (self.match_tiers, tier),
            (self.match_severities, severity),
            (self.match_kinds, kind),
        )
        return all(not allowed or value in allowed for allowed, value in wanted)

    def target_seconds(self, metric: SlaMetric) -> int:
        if metric == SlaMetric.FIRST_RESPONSE:
            return self.first_response_seconds
        if metric == SlaMetric.RESOLUTION:
            return self.resolution_seconds
        raise ValueError(f"no clock target for {metric}")


@dataclass(frozen=True)
class Incident:
    """What a policy is matched on, as the incident was reported."""

    incident_id: str
    customer_id: str
    tier: str
    severity: str
    kind: str


def match_policy(
    policies: Iterable[Policy], *, tier: str, severity: str, kind: str
) -> Policy | None:
    """The matching policy of lowest priority number (ties by id, to be deterministic)."""
    matching = (p for p in policies if p.matches(tier=tier, severity=severity, kind=kind))
    return min(matching, key=lambda p: (p.priority, p.policy_id), default=None)
