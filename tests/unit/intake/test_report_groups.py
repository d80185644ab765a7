"""The pure rules a group of reports is stored by: each customer once, with the details of the
reports merged in arrival order; which stored customer a group would change (replacing fields,
or only filling empty ones); the first report of each key."""

import pytest
from incident_events.incidents import CustomerRef
from incident_events.types import CustomerTier
from intake import domain
from intake.domain import CustomerChange, CustomerDetails

ANN = "email:ann@example.com"
BOB = "email:bob@example.com"


def test_merge_keeps_one_entry_per_customer_sorted_by_id() -> None:
    merged = domain.merge_customer_details(
        [CustomerDetails(BOB, name="Bob"), CustomerDetails(ANN), CustomerDetails(BOB)]
    )
    assert [details.customer_id for details in merged] == [ANN, BOB]


def test_merge_takes_each_field_from_the_last_report_stating_it() -> None:
    merged = domain.merge_customer_details(
        [
            CustomerDetails(ANN, name="Ann", language="cs"),
            CustomerDetails(ANN, phone="+420 1", tier=CustomerTier.PREMIUM),
            CustomerDetails(ANN, name="Ann Novak"),
            CustomerDetails(ANN),
        ]
    )
    assert merged == [
        CustomerDetails(
            ANN, name="Ann Novak", phone="+420 1", language="cs", tier=CustomerTier.PREMIUM
        )
    ]


STORED = CustomerRef(customer_id=ANN, name="Ann", email="ann@example.com", language="cs")


def stated(details: CustomerDetails) -> CustomerChange:
    """A change by a client that may overwrite the customer."""
    return CustomerChange(details.customer_id, details, CustomerDetails(details.customer_id))


def offered(details: CustomerDetails) -> CustomerChange:
    """A change by a client that may only fill what is empty."""
    return CustomerChange(details.customer_id, CustomerDetails(details.customer_id), details)


@pytest.mark.parametrize(
    ("details", "changed"),
    [
        (CustomerDetails(ANN), False),
        (CustomerDetails(ANN, name="Ann", language="cs"), False),
        (CustomerDetails(ANN, email="ann@example.com", tier=CustomerTier.STANDARD), False),
        (CustomerDetails(ANN, name="Ann Novak"), True),
        (CustomerDetails(ANN, phone="+420 1"), True),
        (CustomerDetails(ANN, language="en"), True),
        (CustomerDetails(ANN, tier=CustomerTier.ENTERPRISE), True),
    ],
)
def test_customer_changed_only_by_a_stated_field_that_differs(
    details: CustomerDetails, changed: bool
) -> None:
    assert domain.customer_changed(STORED, stated(details)) is changed


@pytest.mark.parametrize(
    ("details", "after"),
    [
        (CustomerDetails(ANN, name="Eve", language="en"), STORED),
        (CustomerDetails(ANN, email="eve@example.com"), STORED),
        (CustomerDetails(ANN, tier=CustomerTier.ENTERPRISE), STORED),
        (CustomerDetails(ANN, phone="+420 1"), STORED.model_copy(update={"phone": "+420 1"})),
        (
            CustomerDetails(ANN, time_zone="Europe/Prague", name="Eve"),
            STORED.model_copy(update={"time_zone": "Europe/Prague"}),
        ),
    ],
)
def test_an_offered_change_only_fills_what_is_empty(
    details: CustomerDetails, after: CustomerRef
) -> None:
    assert domain.customer_after(STORED, offered(details)) == after
    assert domain.customer_changed(STORED, offered(details)) is (after != STORED)


def test_stated_fields_win_over_offered_ones() -> None:
    change = CustomerChange(
        ANN, CustomerDetails(ANN, phone="+420 2"), CustomerDetails(ANN, phone="+420 1", name="X")
    )
    assert domain.customer_after(STORED, change).phone == "+420 2"
    assert domain.new_customer(change).phone == "+420 2"
    assert domain.new_customer(change).name == "X"


def test_new_customer_has_what_the_report_states_and_defaults_for_the_rest() -> None:
    assert domain.new_customer(stated(CustomerDetails(ANN, name="Ann"))) == CustomerRef(
        customer_id=ANN, name="Ann", language="en", tier=CustomerTier.STANDARD
    )
    premium = domain.new_customer(
        stated(CustomerDetails(ANN, language="pl", tier=CustomerTier.PREMIUM))
    )
    assert (premium.language, premium.tier) == ("pl", CustomerTier.PREMIUM)


def test_first_occurrences_skips_reports_without_a_key() -> None:
    assert domain.first_occurrences(["k1", None, "k2", "k1", None, "k2"]) == {"k1": 0, "k2": 2}
    assert domain.first_occurrences([None, None]) == {}


def test_first_occurrences_of_client_scoped_keys_keep_clients_apart() -> None:
    keys = [("shop", "k1"), ("crm", "k1"), ("shop", "k1"), None]
    assert domain.first_occurrences(keys) == {("shop", "k1"): 0, ("crm", "k1"): 1}
