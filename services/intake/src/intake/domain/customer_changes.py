"""What a group of reports does to the customers it names: each field as the last report that
states it says, when its client may overwrite the customer (the one that created it, or an
admin); else only filling what is empty, so a client cannot rewrite another's customers."""

from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Any

from incident_events.incidents import CustomerRef

from intake.domain.customers import ResolvedClaim
from intake.domain.model import CUSTOMER_FIELDS, CustomerDetails, known_customer


@dataclass(frozen=True)
class CustomerChange:
    """What a group of reports does to one customer: `stated` fields replace what is stored,
    `offered` ones (from clients that may not overwrite it) only fill what is empty."""

    customer_id: str
    stated: CustomerDetails
    offered: CustomerDetails


def given_details(details: CustomerDetails) -> dict[str, Any]:
    """The fields a report states about its customer; the others keep what is stored."""
    stated = {name: getattr(details, name) for name in CUSTOMER_FIELDS}
    return {name: value for name, value in stated.items() if value is not None}


def merge_customer_details(reports: Iterable[CustomerDetails]) -> list[CustomerDetails]:
    """One entry per customer, sorted by id, as if the reports were stored one after another:
    each field as the last report that states it says."""
    merged: dict[str, CustomerDetails] = {}
    for details in reports:
        earlier = merged.get(details.customer_id)
        merged[details.customer_id] = (
            replace(earlier, **given_details(details)) if earlier else details
        )
    return [merged[customer_id] for customer_id in sorted(merged)]


def merge_customer_changes(claims: Iterable[ResolvedClaim]) -> list[CustomerChange]:
    """One change per customer, sorted by id (the order rows are locked in)."""
    claims = list(claims)
    stated = {
        d.customer_id: d for d in merge_customer_details(c.details for c in claims if c.overwrites)
    }
    offered = {
        d.customer_id: d
        for d in merge_customer_details(c.details for c in claims if not c.overwrites)
    }
    return [
        CustomerChange(
            customer_id,
            stated.get(customer_id, CustomerDetails(customer_id)),
            offered.get(customer_id, CustomerDetails(customer_id)),
        )
        for customer_id in sorted(stated.keys() | offered.keys())
    ]


def customer_after(stored: CustomerRef, change: CustomerChange) -> CustomerRef:
    """The stored customer with the change applied: stated, else stored, else offered."""
    values = stored.model_dump()
    for name, value in given_details(change.offered).items():
        if values[name] is None:
            values[name] = value
    return known_customer(**{**values, **given_details(change.stated)})


def customer_changed(stored: CustomerRef, change: CustomerChange) -> bool:
    """Whether storing the change would alter the stored customer."""
    return customer_after(stored, change) != stored


def new_customer(change: CustomerChange) -> CustomerRef:
    """A customer not stored yet: what the reports say, defaults for the rest."""
    return known_customer(
        customer_id=change.customer_id,
        **{**given_details(change.offered), **given_details(change.stated)},
    )
