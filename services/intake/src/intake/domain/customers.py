"""One customer per person across channels, and what reports may change about them.

A customer is known by identities, each belonging to one customer only: external ids (the
`customer_id` a report gives, and every customer's own id), e-mail addresses and phone numbers.
The merge rule, applied to each report in arrival order:

1. the customer the report's id names (given, else derived from its e-mail, else its phone),
   when that id is known: the most specific thing a client can say;
2. else the oldest customer owning the report's e-mail address or phone number;
3. else a new customer with that id.

The report's identities nobody owns yet are linked to that customer, so the next report naming
any of them finds it. An identity owned by another customer stays there: both customers are
recorded as possible duplicates (for an admin to look at), and the report's field holding that
identity is not copied onto the record. Customers are never merged automatically.

Whether what a report says may replace the record is decided here (domain.clients
.overwrites_customer); how the group's reports combine is domain.customer_changes. The tier is
never taken from a report without the admin scope.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum

from intake.domain.clients import Client, may_set_tier, overwrites_customer
from intake.domain.model import CustomerDetails


class IdentityKind(StrEnum):
    EXTERNAL = "external"
    EMAIL = "email"
    PHONE = "phone"


@dataclass(frozen=True, order=True)
class Identity:
    kind: IdentityKind
    value: str


def normalized_email(email: str) -> str:
    return email.strip().lower()


def normalized_phone(phone: str) -> str:
    return "".join(c for c in phone if c.isdigit() or c == "+")


def derive_customer_id(
    *, customer_id: str | None, email: str | None, phone: str | None
) -> str | None:
    """The given id, else one derived from the e-mail address (or phone), so that reports from
    the same person on different channels land on one customer."""
    if customer_id:
        return customer_id
    if email:
        return f"email:{normalized_email(email)}"
    if phone:
        return f"phone:{normalized_phone(phone)}"
    return None


def identities_of(details: CustomerDetails) -> tuple[Identity, ...]:
    """The report's id first (the one that decides when known), then its e-mail and phone."""
    found = [Identity(IdentityKind.EXTERNAL, details.customer_id)]
    if details.email:
        found.append(Identity(IdentityKind.EMAIL, normalized_email(details.email)))
    if details.phone and normalized_phone(details.phone):
        found.append(Identity(IdentityKind.PHONE, normalized_phone(details.phone)))
    return tuple(found)


@dataclass(frozen=True)
class KnownCustomer:
    """A customer as far as the merge rule cares: who it is, how old, who created it."""

    customer_id: str
    created_at: datetime
    created_by: str | None
    # Orders customers created by the same group of reports (all created at its `now`).
    sequence: int = 0

    @property
    def age_rank(self) -> tuple[datetime, int, str]:
        return (self.created_at, self.sequence, self.customer_id)


@dataclass(frozen=True)
class Claim:
    """What one report says about its customer, and the client that sent it."""

    details: CustomerDetails
    client: Client


@dataclass(frozen=True)
class ResolvedClaim:
    details: CustomerDetails  # with the customer it attaches to, and only what it may write
    overwrites: bool


@dataclass(frozen=True)
class Duplicate:
    customer_id: str
    other_customer_id: str
    identity: Identity


@dataclass(frozen=True)
class Resolution:
    claims: tuple[ResolvedClaim, ...]
    created: Mapping[str, KnownCustomer] = field(default_factory=dict)
    links: Mapping[Identity, str] = field(default_factory=dict)
    duplicates: frozenset[Duplicate] = frozenset()

    @property
    def customer_ids(self) -> list[str]:
        return [claim.details.customer_id for claim in self.claims]

    @property
    def claims_identities(self) -> bool:
        """Whether storing it takes identities nobody owned: it must then be decided again
        under the identities' locks, against what concurrent reports stored meanwhile."""
        return bool(self.created or self.links)


def resolve_customers(
    claims: Sequence[Claim], owners: Mapping[Identity, KnownCustomer], *, now: datetime
) -> Resolution:
    """Each report's customer by the merge rule, as if the reports came one after another:
    customers and links made by earlier reports of the group count for the later ones."""
    owner_of = dict(owners)
    created: dict[str, KnownCustomer] = {}
    links: dict[Identity, str] = {}
    duplicates: set[Duplicate] = set()
    resolved: list[ResolvedClaim] = []
    for position, claim in enumerate(claims):
        identities = identities_of(claim.details)
        customer = _customer_named(identities, owner_of)
        if customer is None:
            customer = KnownCustomer(
                claim.details.customer_id, now, claim.client.client_id, sequence=position + 1
            )
            created[customer.customer_id] = customer
        details = claim.details
        for identity in identities:
            holder = owner_of.get(identity)
            if holder is None:
                owner_of[identity] = customer
                links[identity] = customer.customer_id
            elif holder.customer_id != customer.customer_id:
                duplicates.add(Duplicate(customer.customer_id, holder.customer_id, identity))
                details = _without(details, identity)
        if details.tier is not None and not may_set_tier(claim.client):
            details = replace(details, tier=None)
        overwrites = overwrites_customer(claim.client, created_by=customer.created_by)
        resolved.append(
            ResolvedClaim(replace(details, customer_id=customer.customer_id), overwrites)
        )
    return Resolution(tuple(resolved), created, links, frozenset(duplicates))


def _customer_named(
    identities: Sequence[Identity], owner_of: Mapping[Identity, KnownCustomer]
) -> KnownCustomer | None:
    named = owner_of.get(identities[0])
    if named is not None:
        return named
    holders = [owner_of[identity] for identity in identities[1:] if identity in owner_of]
    return min(holders, key=lambda holder: holder.age_rank) if holders else None


def _without(details: CustomerDetails, identity: Identity) -> CustomerDetails:
    """The details without the field holding another customer's identity."""
    match identity.kind:
        case IdentityKind.EMAIL:
            return replace(details, email=None)
        case IdentityKind.PHONE:
            return replace(details, phone=None)
        case _:
            return details
