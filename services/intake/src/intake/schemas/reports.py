"""The report request of intake's API, strictly validated, every error naming its field."""

from typing import Annotated, Self

from incident_events.types import Channel, CustomerTier, IncidentKind, Severity
from pydantic import BaseModel, ConfigDict, EmailStr, Field, model_validator

from intake.domain import CustomerDetails, IncidentReport, derive_customer_id
from intake.schemas.fields import Description, Language, ShortText, Slug, TimeZone, Title


class CustomerIn(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    customer_id: ShortText | None = Field(
        default=None,
        description='Defaults to one derived from the e-mail, e.g. "email:ann@x.org". Customers '
        "are merged by identity: the answer names the customer the report attached to.",
    )
    name: ShortText | None = None
    email: EmailStr | None = None
    phone: Annotated[str | None, Field(pattern=r"^\+?[0-9 ()./-]{3,40}$")] = None
    language: Language | None = Field(default=None, description="Defaults to en for a new one.")
    tier: CustomerTier | None = Field(
        default=None,
        description="Only with the admin scope (else 403): the tier comes from the customer "
        "record, which admins manage (PATCH /v1/customers/{id}).",
    )
    time_zone: TimeZone | None = None

    @model_validator(mode="after")
    def _identified(self) -> Self:
        if derive_customer_id(customer_id=self.customer_id, email=self.email, phone=self.phone):
            return self
        raise ValueError("give customer_id, email or phone")

    def to_details(self) -> CustomerDetails:
        customer_id = derive_customer_id(
            customer_id=self.customer_id, email=self.email, phone=self.phone
        )
        return CustomerDetails(
            customer_id=customer_id or "",
            name=self.name,
            email=self.email,
            phone=self.phone,
            language=self.language,
            tier=self.tier,
            time_zone=self.time_zone,
        )


class IncidentIn(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    title: Title
    description: Description = ""
    severity: Severity
    kind: IncidentKind = IncidentKind.INCIDENT
    channel: Channel = Channel.API
    customer: CustomerIn
    language: Language | None = Field(default=None, description="Defaults to the customer's.")
    required_skills: list[Slug] = Field(default_factory=list, max_length=20)
    dedup_key: ShortText | None = Field(
        default=None, description="Reports with the key of an open incident return that incident."
    )

    def to_report(self) -> IncidentReport:
        return IncidentReport(
            title=self.title,
            description=self.description,
            severity=self.severity,
            kind=self.kind,
            channel=self.channel,
            customer=self.customer.to_details(),
            language=self.language,
            required_skills=tuple(self.required_skills),
            dedup_key=self.dedup_key,
        )
