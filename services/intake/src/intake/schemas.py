"""The HTTP bodies of intake's API: the report request (strictly validated, every error naming
its field) and the incident representation."""

from datetime import datetime
from typing import Annotated, Self

from incident_events.types import Channel, CustomerTier, IncidentStatus, Severity
from incident_kit.fields import EmailAddress, NoNul, NotBlank
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    model_validator,
)
from pydantic.config import JsonDict

from intake.domain import CustomerDetails, Incident, IncidentReport, derive_customer_id

# Text fields: bounded, without NUL (PostgreSQL cannot store it). Stored as given: a title is
# not trimmed, as the schema's maxLength counts what is sent. HTML is kept as text; intake never
# renders it.
Title = Annotated[str, StringConstraints(min_length=1, max_length=200), NotBlank]
Description = Annotated[str, StringConstraints(max_length=20_000), NoNul]
ShortText = Annotated[str, StringConstraints(min_length=1, max_length=200), NoNul]
Language = Annotated[str, Field(pattern=r"^[a-z]{2}$", description="ISO 639-1 code, e.g. en")]
Slug = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,49}$")]


# The identification rule of CustomerIn._identified, for the schema: one of them, not null.
_IDENTIFIED_BY: JsonDict = {
    "anyOf": [
        {"required": [name], "properties": {name: {"type": "string"}}}
        for name in ("customer_id", "email", "phone")
    ]
}


class CustomerIn(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, json_schema_extra=_IDENTIFIED_BY)

    customer_id: ShortText | None = Field(
        default=None, description='Defaults to one derived from the e-mail, e.g. "email:ann@x.org".'
    )
    name: ShortText | None = None
    email: EmailAddress | None = None
    phone: Annotated[str | None, Field(pattern=r"^\+?[0-9 ()./-]{3,40}$")] = None
    language: Language | None = Field(default=None, description="Defaults to en for a new one.")
    tier: CustomerTier | None = None

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
        )


class IncidentIn(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    title: Title
    description: Description = ""
    severity: Severity
    kind: Slug = "incident"
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


class CustomerOut(BaseModel):
    customer_id: str
    name: str | None
    email: str | None
    phone: str | None
    language: str
    tier: CustomerTier


class AssigneeOut(BaseModel):
    agent_id: str
    name: str | None
    reason: str


class IncidentOut(BaseModel):
    incident_id: str
    reference: str
    status: IncidentStatus
    title: str
    description: str
    severity: Severity
    kind: str
    channel: Channel
    customer: CustomerOut
    language: str
    required_skills: list[str]
    assignee: AssigneeOut | None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, incident: Incident) -> "IncidentOut":
        assignee = incident.assignee
        return cls(
            incident_id=incident.incident_id,
            reference=incident.reference,
            status=incident.status,
            title=incident.title,
            description=incident.description,
            severity=incident.severity,
            kind=incident.kind,
            channel=incident.channel,
            customer=CustomerOut.model_validate(incident.customer.model_dump()),
            language=incident.language,
            required_skills=list(incident.required_skills),
            assignee=AssigneeOut(
                agent_id=assignee.agent_id, name=assignee.name, reason=assignee.reason
            )
            if assignee
            else None,
            created_at=incident.created_at,
            updated_at=incident.updated_at,
        )
