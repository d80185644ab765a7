"""All SQL of intake. Keyword-only functions on a caller's session; nothing here commits."""

from intake.repository.incidents import (
    IncidentFilter,
    get_incident,
    list_incidents,
    lock_incident,
    open_incidents_by_dedup_key,
    save_incident,
    to_customer,
    to_incident,
)
from intake.repository.reports import (
    KeyClaim,
    bind_idempotency_keys,
    claim_idempotency_keys,
    get_customers,
    insert_customers,
    insert_incidents,
    next_reference_numbers,
    replays_of,
    update_customers,
)
from intake.repository.timeline import add_to_timeline, public_timeline

__all__ = [
    "IncidentFilter",
    "KeyClaim",
    "add_to_timeline",
    "bind_idempotency_keys",
    "claim_idempotency_keys",
    "get_customers",
    "get_incident",
    "insert_customers",
    "insert_incidents",
    "list_incidents",
    "lock_incident",
    "next_reference_numbers",
    "open_incidents_by_dedup_key",
    "public_timeline",
    "replays_of",
    "save_incident",
    "to_customer",
    "to_incident",
    "update_customers",
]
