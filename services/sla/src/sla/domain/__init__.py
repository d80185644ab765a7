"""The sla domain, pure: policies (which targets an incident gets) and clocks (when they warn,
breach or are met). Callers use `domain.<name>`; the modules split it only by size."""

from sla.domain.clocks import (
    CLOCK_METRICS,
    CLOCK_NAMESPACE,
    ClockStatus,
    Outcome,
    SlaClock,
    fire,
    next_fire_at,
    start_clocks,
    stop,
    time_to_breach,
    warning_moment,
)
from sla.domain.policies import Incident, Policy, match_policy

__all__ = [
    "CLOCK_METRICS",
    "CLOCK_NAMESPACE",
    "ClockStatus",
    "Incident",
    "Outcome",
    "Policy",
    "SlaClock",
    "fire",
    "match_policy",
    "next_fire_at",
    "start_clocks",
    "stop",
    "time_to_breach",
    "warning_moment",
]
