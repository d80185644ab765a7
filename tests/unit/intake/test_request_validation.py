"""The report request's validation, table-driven: each bad input is refused naming its field,
and good input becomes the domain's IncidentReport."""

from typing import Any

import pytest
from incident_events.types import Channel, CustomerTier
from intake.schemas import IncidentIn
from pydantic import ValidationError


def body(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "title": "Checkout fails",
        "severity": "high",
        "customer": {"email": "Ann@Example.com", "name": "Ann"},
    }
    return {**base, **changes}


def error_fields(document: dict[str, Any]) -> set[str]:
    with pytest.raises(ValidationError) as caught:
        IncidentIn.model_validate(document)
    return {".".join(str(part) for part in e["loc"]) for e in caught.value.errors()}


@pytest.mark.parametrize(
    ("document", "field"),
    [
        ({"severity": "high", "customer": {"email": "a@b.org"}}, "title"),
        (body(title=""), "title"),
        (body(title="   "), "title"),
        (body(title="x" * 201), "title"),
        (body(title="bad\x00title"), "title"),
        (body(title=42), "title"),
        (body(description="d" * 20_001), "description"),
        (body(description="nul\x00"), "description"),
        (body(severity="urgent"), "severity"),
        (body(channel="pigeon"), "channel"),
        (body(kind="Not A Slug"), "kind"),
        (body(language="english"), "language"),
        (body(required_skills="payments"), "required_skills"),
        (body(required_skills=[f"s{i}" for i in range(21)]), "required_skills"),
        (body(required_skills=["Bad Skill"]), "required_skills.0"),
        (body(dedup_key=""), "dedup_key"),
        (body(customer={"name": "Nobody"}), "customer"),
        (body(customer={"email": "not-an-email"}), "customer.email"),
        (body(customer={"email": "ann@host.test"}), "customer.email"),
        (body(customer={"customer_id": None, "email": "a@b.org\x00"}), "customer.email"),
        (body(customer={"email": "a@b.org", "tier": "gold"}), "customer.tier"),
        (body(customer={"email": "a@b.org", "language": "EN"}), "customer.language"),
        (body(customer={"email": "a@b.org", "phone": "call me"}), "customer.phone"),
        (body(severty="high"), "severty"),
    ],
)
def test_bad_input_names_the_field(document: dict[str, Any], field: str) -> None:
    assert field in error_fields(document)


def test_defaults_and_derived_customer() -> None:
    report = IncidentIn.model_validate(body(required_skills=["payments"])).to_report()
    assert report.channel is Channel.API and report.kind == "incident"
    assert report.language is None and report.dedup_key is None
    assert report.customer.customer_id == "email:ann@example.com"
    assert report.customer.tier is None and report.required_skills == ("payments",)


def test_text_is_stored_as_given() -> None:
    # Not trimmed: the schema's maxLength counts what is sent, and " " alone is refused.
    assert IncidentIn.model_validate(body(title="  Checkout  ")).title == "  Checkout  "


def test_html_is_kept_as_text() -> None:
    title = "<script>alert(1)</script>"
    assert IncidentIn.model_validate(body(title=title)).title == title


def test_explicit_customer_fields() -> None:
    customer = {"customer_id": "crm-1", "language": "pl", "tier": "premium", "phone": "+48 12"}
    report = IncidentIn.model_validate(body(customer=customer)).to_report()
    assert report.customer.customer_id == "crm-1"
    assert report.customer.language == "pl" and report.customer.tier is CustomerTier.PREMIUM
