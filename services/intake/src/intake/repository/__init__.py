"""All SQL of intake. Keyword-only functions on a caller's session; nothing here commits."""

from intake.repository.clients import StoredKey, add_key, all_keys, key_by_id, revoke_keys
from intake.repository.customer_views import (
    CustomerRecord,
    IncidentCount,
    amend_customer,
    customer_record,
    find_customer_id,
)
from intake.repository.customers import (
    get_customers,
    identity_owners,
    insert_customers,
    link_identities,
    lock_identities,
    record_duplicates,
    update_customers,
)
from intake.repository.incidents import (
    IncidentFilter,
    get_incident,
    list_incidents,
    lock_incident,
    to_customer,
    to_incident,
)
from intake.repository.reports import (
    ClientKey,
    KeyClaim,
    NewIncident,
    bind_idempotency_keys,
    claim_idempotency_keys,
    insert_incidents,
    next_reference_numbers,
    open_incidents_by_dedup_key,
    replays_of,
)
from intake.repository.timeline import public_timeline, record_change

__all__ = [
    "ClientKey",
    "CustomerRecord",
    "IncidentCount",
    "IncidentFilter",
    "KeyClaim",
    "NewIncident",
    "StoredKey",
    "add_key",
    "all_keys",
    "amend_customer",
    "bind_idempotency_keys",
    "claim_idempotency_keys",
    "customer_record",
    "find_customer_id",
    "get_customers",
    "get_incident",
    "identity_owners",
    "insert_customers",
    "insert_incidents",
    "key_by_id",
    "link_identities",
    "list_incidents",
    "lock_identities",
    "lock_incident",
    "next_reference_numbers",
    "open_incidents_by_dedup_key",
    "public_timeline",
    "record_change",
    "record_duplicates",
    "replays_of",
    "revoke_keys",
    "to_customer",
    "to_incident",
    "update_customers",
]
