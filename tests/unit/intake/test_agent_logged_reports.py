"""Reports an agent logs for a customer who called or faxed: the channel says how the customer
reached us, `logged_by` which agent took it, and both travel into the reported fact."""

from datetime import UTC, datetime
from typing import Any

import pytest
from incident_events.types import Channel
from intake import domain
from intake.domain import CustomerDetails
from intake.schemas import IncidentIn
from pydantic import ValidationError

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def body(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "title": "Invoice shows the wrong address",
        "severity": "low",
        "customer": {"phone": "+420 601 123 456", "name": "Jana"},
    }
    return {**base, **changes}


@pytest.mark.parametrize("channel", ["phone", "fax"])
def test_phone_and_fax_need_the_agent(channel: str) -> None:
    with pytest.raises(ValidationError) as caught:
        IncidentIn.model_validate(body(channel=channel))
    [error] = caught.value.errors()
    assert error["loc"] == ("logged_by",)
    assert f"required when the channel is {channel}" in error["msg"]


@pytest.mark.parametrize("logged_by", ["", "x" * 201, "olga\x00"])
def test_a_bad_agent_id_names_the_field(logged_by: str) -> None:
    with pytest.raises(ValidationError) as caught:
        IncidentIn.model_validate(body(channel="phone", logged_by=logged_by))
    assert [e["loc"] for e in caught.value.errors()] == [("logged_by",)]


@pytest.mark.parametrize("channel", [Channel.PHONE, Channel.FAX])
def test_the_channel_and_agent_reach_the_reported_fact(channel: Channel) -> None:
    report = IncidentIn.model_validate(body(channel=channel, logged_by="olga")).to_report()
    assert (report.channel, report.logged_by) == (channel, "olga")
    stated = report.customer
    change = domain.CustomerChange(stated.customer_id, stated, CustomerDetails(stated.customer_id))
    incident = domain.new_incident(
        report,
        incident_id="i-1",
        reference="INC-000001",
        customer=domain.new_customer(change),
        client_id="helpdesk",
        now=T0,
    )
    fact = domain.reported(incident)
    assert (fact.channel, fact.logged_by) == (channel, "olga")
    assert fact.customer.customer_id == "phone:+420601123456"


def test_other_channels_may_name_the_agent_but_need_not() -> None:
    assert IncidentIn.model_validate(body()).to_report().logged_by is None
    forwarded = IncidentIn.model_validate(body(channel="email", logged_by="olga")).to_report()
    assert forwarded.logged_by == "olga"
