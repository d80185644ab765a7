"""The merge rule of customers across channels (domain.customers), table-driven: a report
attaches to the customer its id names, else to the oldest owner of its e-mail or phone, else to
a new customer; it links identities nobody owns, records the other owners as possible
duplicates, never copies their identity onto the record, and sets a tier only as an admin."""

from datetime import UTC, datetime, timedelta

import pytest
from incident_events.types import CustomerTier
from intake import domain
from intake.domain import (
    ENV_CLIENT,
    Claim,
    Client,
    CustomerDetails,
    Duplicate,
    Identity,
    IdentityKind,
    KnownCustomer,
    Scope,
)

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
SHOP = Client("shop", frozenset({Scope.REPORT}))
CRM = Client("crm", frozenset({Scope.REPORT}))


def external(value: str) -> Identity:
    return Identity(IdentityKind.EXTERNAL, value)


def email(value: str) -> Identity:
    return Identity(IdentityKind.EMAIL, value)


def phone(value: str) -> Identity:
    return Identity(IdentityKind.PHONE, value)


# Ann since a week (by e-mail and phone), Bob since a day (by the CRM's id and e-mail).
ANN = KnownCustomer("email:ann@example.com", T0 - timedelta(days=7), "shop")
BOB = KnownCustomer("crm-7", T0 - timedelta(days=1), "crm")
OWNERS = {
    external(ANN.customer_id): ANN,
    email("ann@example.com"): ANN,
    phone("+420111"): ANN,
    external(BOB.customer_id): BOB,
    email("bob@example.com"): BOB,
}


def details(customer_id: str | None = None, **fields: str) -> CustomerDetails:
    derived = domain.derive_customer_id(
        customer_id=customer_id, email=fields.get("email"), phone=fields.get("phone")
    )
    return CustomerDetails(derived or "", **fields)  # type: ignore[arg-type]


def resolve(*claims: Claim) -> domain.Resolution:
    return domain.resolve_customers(claims, OWNERS, now=T0)


@pytest.mark.parametrize(
    ("reported", "customer_id"),
    [
        (details(email="Ann@Example.com"), ANN.customer_id),  # e-mail, any case
        (details(phone="+420 111"), ANN.customer_id),  # phone, any spacing
        (details("crm-7", email="ann@example.com"), BOB.customer_id),  # the id decides
        (details("crm-9", email="ann@example.com"), ANN.customer_id),  # unknown id: e-mail
        (details(email="bob@example.com", phone="+420111"), ANN.customer_id),  # the oldest
        (details(email="new@example.com"), "email:new@example.com"),  # nobody: a new one
        (details("crm-9"), "crm-9"),
    ],
)
def test_a_report_attaches_by_the_merge_rule(reported: CustomerDetails, customer_id: str) -> None:
    assert resolve(Claim(reported, SHOP)).customer_ids == [customer_id]


def test_unowned_identities_are_linked_and_owned_ones_stay() -> None:
    reported = details("crm-9", email="ann@example.com", phone="+420 222")
    resolution = resolve(Claim(reported, SHOP))
    assert resolution.links == {
        external("crm-9"): ANN.customer_id,
        phone("+420222"): ANN.customer_id,
    }
    assert not resolution.created and not resolution.duplicates
    assert resolution.claims_identities


def test_a_report_naming_two_customers_records_them_and_keeps_identities_apart() -> None:
    reported = details(email="bob@example.com", phone="+420111", name="Bob")
    resolution = resolve(Claim(reported, CRM))
    assert resolution.customer_ids == [ANN.customer_id]
    assert resolution.duplicates == {
        Duplicate(ANN.customer_id, BOB.customer_id, email("bob@example.com"))
    }
    # Bob's e-mail is not copied onto Ann's record; the derived id is linked to Ann.
    (claim,) = resolution.claims
    assert claim.details.email is None and claim.details.name == "Bob"
    assert resolution.links == {external("email:bob@example.com"): ANN.customer_id}


def test_a_known_customer_named_by_all_its_identities_claims_nothing() -> None:
    resolution = resolve(Claim(details(email="ann@example.com", phone="+420111"), SHOP))
    assert not resolution.claims_identities and not resolution.duplicates


def test_reports_of_one_group_see_the_customers_earlier_ones_made() -> None:
    first = details("crm-9", email="eve@example.com")
    second = details(phone="+420 333", email="eve@example.com")
    third = details(phone="+420333")
    resolution = resolve(Claim(first, CRM), Claim(second, SHOP), Claim(third, SHOP))
    assert resolution.customer_ids == ["crm-9"] * 3
    assert set(resolution.created) == {"crm-9"}
    assert resolution.created["crm-9"].created_by == "crm"
    assert resolution.links[phone("+420333")] == "crm-9"


def test_the_oldest_of_two_new_customers_wins_within_a_group() -> None:
    resolution = resolve(
        Claim(details(email="x@example.com"), SHOP),
        Claim(details(phone="+420 444"), SHOP),
        Claim(details(phone="+420444", email="x@example.com"), SHOP),
    )
    assert resolution.customer_ids == [
        "email:x@example.com",
        "phone:+420444",
        "email:x@example.com",
    ]


@pytest.mark.parametrize(
    ("client", "customer", "overwrites"),
    [
        (SHOP, ANN, True),  # its creator
        (CRM, ANN, False),  # another client: fills only
        (ENV_CLIENT, ANN, True),  # an admin
        (Client("ops", frozenset({Scope.ADMIN, Scope.REPORT})), BOB, True),
    ],
)
def test_only_the_creator_or_an_admin_overwrites_a_customer(
    client: Client, customer: KnownCustomer, overwrites: bool
) -> None:
    reported = details(customer.customer_id, name="Someone")
    (claim,) = resolve(Claim(reported, client)).claims
    assert claim.overwrites is overwrites


@pytest.mark.parametrize("channel", [domain.EMAIL_CLIENT, domain.WEB_FORM_CLIENT])
def test_the_anonymous_channels_only_fill_even_a_customer_they_created(channel: Client) -> None:
    # Anyone may mail in or fill the form in a customer's name: it must not rename them.
    created_here = KnownCustomer("email:ann@example.com", T0 - timedelta(days=1), channel.client_id)
    claim = Claim(details(email="ann@example.com", name="Mallory"), channel)
    known = {Identity(IdentityKind.EMAIL, "ann@example.com"): created_here}
    (resolved,) = domain.resolve_customers([claim], known, now=T0).claims
    assert resolved.details.customer_id == created_here.customer_id
    assert resolved.overwrites is False


def test_a_customer_from_before_clients_is_overwritten_only_by_an_admin() -> None:
    legacy = KnownCustomer("old-1", T0 - timedelta(days=400), None)
    claims = [Claim(details("old-1", name="X"), c) for c in (SHOP, ENV_CLIENT)]
    resolved = domain.resolve_customers(claims, {external("old-1"): legacy}, now=T0)
    assert [c.overwrites for c in resolved.claims] == [False, True]


def test_a_tier_is_taken_only_from_an_admin() -> None:
    reported = CustomerDetails(ANN.customer_id, tier=CustomerTier.ENTERPRISE)
    by_shop, by_admin = resolve(Claim(reported, SHOP), Claim(reported, ENV_CLIENT)).claims
    assert by_shop.details.tier is None
    assert by_admin.details.tier == CustomerTier.ENTERPRISE


def test_changes_of_a_group_split_into_stated_and_offered() -> None:
    resolution = resolve(
        Claim(details(email="ann@example.com", name="Ann"), SHOP),
        Claim(details(email="ann@example.com", name="Anna", time_zone="Europe/Prague"), CRM),
    )
    (change,) = domain.merge_customer_changes(resolution.claims)
    assert change.customer_id == ANN.customer_id
    assert (change.stated.name, change.offered.name) == ("Ann", "Anna")
    assert change.offered.time_zone == "Europe/Prague" and change.stated.time_zone is None
