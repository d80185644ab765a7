"""The incidents the benchmarks report: each one new (its own title, customer, dedup_key and
Idempotency-Key), so intake deduplicates none of them. bench/report_incident.lua sends the same."""

from typing import NamedTuple


class IncidentRequest(NamedTuple):
    headers: dict[str, str]
    body: dict[str, object]


def new_incident(key: str, *, skill: str) -> IncidentRequest:
    """A report no other carries `key` in (`key` is unique per run and per incident)."""
    return IncidentRequest(
        headers={"Idempotency-Key": key},
        body={
            "title": f"Bench incident {key}",
            "severity": "medium",
            "required_skills": [skill],
            "customer": {"email": f"bench-{key}@example.com", "language": "en"},
            "dedup_key": key,
        },
    )
