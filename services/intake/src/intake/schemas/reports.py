"""The report request of intake's API, strictly validated, every error naming its field."""

from typing import Annotated, Self

from incident_events.types import Channel, CustomerTier, IncidentKind, Severity
from incident_kit.fields import EmailAddress
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    JsonValue,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic.config import JsonDict

from intake.domain import CustomerDetails, IncidentReport, derive_customer_id
from intake.schemas.fields import Description, Language, ShortText, Slug, TimeZone, Title

# Channels on which the customer speaks to an agent, who then logs the report.
AGENT_LOGGED_CHANNELS = frozenset({Channel.PHONE, Channel.FAX})


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
        default=None,
        description='Defaults to one derived from the e-mail, e.g. "email:ann@x.org". Customers '
        "are merged by identity: the answer names the customer the report attached to.",
    )
    name: ShortText | None = None
    email: EmailAddress | None = None
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


# The rule of logged_by, for the schema: a phone or fax report names the agent who logged it.
_AGENT_LOGGED: list[JsonValue] = [str(c) for c in sorted(AGENT_LOGGED_CHANNELS)]
_LOGGED_BY_AGENT: JsonDict = {
    "if": {
        "properties": {"channel": {"enum": _AGENT_LOGGED}},
        "required": ["channel"],
    },
    "then": {"required": ["logged_by"], "properties": {"logged_by": {"type": "string"}}},
}


class IncidentIn(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, json_schema_extra=_LOGGED_BY_AGENT)

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
    logged_by: ShortText | None = Field(
        default=None,
        validate_default=True,
        description="The agent's id when an agent logs the report for the customer; required "
        "with the channels phone and fax.",
    )

    @field_validator("logged_by")
    @classmethod
    def _logged_by_agent(cls, value: str | None, info: ValidationInfo) -> str | None:
        # Only an agent takes a call or a fax: the report says which one.
        if value is None and info.data.get("channel") in AGENT_LOGGED_CHANNELS:
            raise ValueError(f"required when the channel is {info.data['channel']}")
        return value

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
            logged_by=self.logged_by,
        )
