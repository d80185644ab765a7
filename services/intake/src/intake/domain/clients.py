"""Who may do what: the client systems holding API keys, their scopes, and what a client may
see and change. Pure; the keys themselves are in intake.api_keys, their storage in the
repository.

- `report`: open incidents (every channel), read and comment on its own as the customer;
- `agent`: work on any incident (status, agent comments, severity and kind) and read them all;
- `admin`: manage customers (their tier above all) and read every incident and customer.

The keys of the environment variable API_KEYS belong to one built-in client, `env`, holding
every scope: the demo, the other services and the tests use them as before. The channels
without an API key of their own report as built-in clients holding only `report`: `email`
(inbound SMTP), `web-form` (GET/POST /report) and `events` (the routing keys of
INTAKE_EVENTS_ROUTING_KEYS). Being clients, their Idempotency-Keys and dedup_keys are their
own, and without `admin` they never set a customer's tier.
"""

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from enum import StrEnum


class Scope(StrEnum):
    REPORT = "report"
    AGENT = "agent"
    ADMIN = "admin"


ALL_SCOPES = frozenset(Scope)
ENV_CLIENT_ID = "env"
# Reading incidents and customers: the people working on them and those managing customers.
READERS = (Scope.AGENT, Scope.ADMIN)


@dataclass(frozen=True)
class Client:
    """The client system a request came from, as its API key says."""

    client_id: str
    scopes: frozenset[Scope]

    def holds_any(self, scopes: Iterable[Scope]) -> bool:
        return not self.scopes.isdisjoint(scopes)


ENV_CLIENT = Client(ENV_CLIENT_ID, ALL_SCOPES)
EMAIL_CLIENT = Client("email", frozenset({Scope.REPORT}))
WEB_FORM_CLIENT = Client("web-form", frozenset({Scope.REPORT}))
EVENTS_CLIENT = Client("events", frozenset({Scope.REPORT}))
# Channels anyone may write to (no key): what they say about a customer is never trusted over
# what is stored, not even by the channel that created the customer.
ANONYMOUS_CLIENT_IDS = frozenset({EMAIL_CLIENT.client_id, WEB_FORM_CLIENT.client_id})
# Not to be made with `python -m intake keys`: a key of theirs would speak for a channel.
BUILT_IN_CLIENT_IDS = frozenset(
    client.client_id for client in (ENV_CLIENT, EMAIL_CLIENT, WEB_FORM_CLIENT, EVENTS_CLIENT)
)
# A client's id is the name it is created with: short, readable in listings and incidents.
CLIENT_ID_PATTERN = r"^[a-z0-9][a-z0-9._-]{0,63}$"


class ScopeMissing(Exception):
    """The client's key holds none of the scopes a request needs."""

    def __init__(self, needed: Collection[Scope], held: Collection[Scope]) -> None:
        self.needed = sorted(needed, key=list(Scope).index)
        self.held = sorted(held, key=list(Scope).index)
        needs = " or ".join(str(scope) for scope in self.needed)
        holds = ", ".join(str(scope) for scope in self.held) or "none"
        super().__init__(f"this needs the scope {needs}; the key holds {holds}")


def require_any(client: Client, needed: Collection[Scope]) -> None:
    if not client.holds_any(needed):
        raise ScopeMissing(needed, client.scopes)


def scope_to_report(*, logged_by: str | None) -> Scope:
    """What a report needs: `report`, but `agent` for one an agent logged for the customer
    (phone, fax: `logged_by`), so that no reporting client speaks for an agent."""
    return Scope.REPORT if logged_by is None else Scope.AGENT


def may_read_incident(client: Client, *, reported_by: str) -> bool:
    """Agents and admins read every incident; a client reads those it reported itself."""
    return client.holds_any(READERS) or client.client_id == reported_by


def sees_customer_contacts(client: Client) -> bool:
    """Whether answers show customers' names, e-mail addresses and phone numbers. A reporting
    client's report may attach to a customer another client knows (by e-mail, say): it must not
    learn that customer's other contacts that way."""
    return client.holds_any(READERS)


def may_set_tier(client: Client) -> bool:
    """The tier decides service levels and priority: it comes from the customer record, which
    admins manage; a report can set it only with the admin scope."""
    return Scope.ADMIN in client.scopes


def overwrites_customer(client: Client, *, created_by: str | None) -> bool:
    """Whether what the client's report says about a customer replaces what is stored, rather
    than only filling what is empty: only for the client that created the customer, or an
    admin. Customers stored before clients existed (created_by None) are admin-managed. The
    anonymous channels (e-mail, the web form) only fill: anyone may send mail or fill the form
    in a customer's name, and must not thereby rename them or change their language."""
    if client.client_id in ANONYMOUS_CLIENT_IDS:
        return False
    return Scope.ADMIN in client.scopes or (
        created_by is not None and created_by == client.client_id
    )


def parse_scopes(text: str) -> frozenset[Scope]:
    """Scopes from `report,agent`; a ValueError names any unknown one."""
    names = [name.strip() for name in text.split(",") if name.strip()]
    unknown = sorted(set(names) - {str(scope) for scope in Scope})
    if unknown:
        raise ValueError(f"unknown scope {', '.join(unknown)}; choose from {', '.join(Scope)}")
    if not names:
        raise ValueError(f"give at least one scope of {', '.join(Scope)}")
    return frozenset(Scope(name) for name in names)
