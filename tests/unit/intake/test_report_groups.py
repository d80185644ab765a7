"""The pure rules a group of reports is stored by: each customer once, with the details of the
reports merged in arrival order; which stored customer a group would change; the first report
of each key."""

import pytest
from incident_events.incidents import CustomerRef
from incident_events.types import CustomerTier
from intake import domain
from intake.domain import CustomerDetails

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
    assert domain.customer_changed(STORED, details) is changed


def test_new_customer_has_what_the_report_states_and_defaults_for_the_rest() -> None:
    assert domain.new_customer(CustomerDetails(ANN, name="Ann")) == CustomerRef(
        customer_id=ANN, name="Ann", language="en", tier=CustomerTier.STANDARD
    )
    premium = domain.new_customer(CustomerDetails(ANN, language="pl", tier=CustomerTier.PREMIUM))
    assert (premium.language, premium.tier) == ("pl", CustomerTier.PREMIUM)


def test_first_occurrences_skips_reports_without_a_key() -> None:
    assert domain.first_occurrences(["k1", None, "k2", "k1", None, "k2"]) == {"k1": 0, "k2": 2}
    assert domain.first_occurrences([None, None]) == {}
