"""The customer API's bodies: one customer's integrated record across channels, and the
changes an admin makes to it."""

from collections import Counter
from datetime import datetime
from typing import Any, Self

from incident_events.types import CustomerTier, IncidentStatus
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic.json_schema import SkipJsonSchema

from intake.repository import CustomerRecord
from intake.schemas.fields import Language, ShortText, TimeZone
from intake.schemas.views import CustomerOut

OPEN_STATUSES = {str(s) for s in IncidentStatus} - {"resolved", "closed"}


class IdentityOut(BaseModel):
    kind: str = Field(description="external (an id), email or phone; normalized")
    value: str


class IncidentSummary(BaseModel):
    total: int
    open: int = Field(description="Not resolved or closed")
    by_channel: dict[str, int]
    by_status: dict[str, int]


class CustomerDetailOut(CustomerOut):
    """One customer across every channel: its identities, the incidents reported for it on
    each channel, and the customers that may be the same person."""

    created_at: datetime
    updated_at: datetime
    created_by_client: str | None = Field(
        description="The client whose report created it; null for customers from before clients"
    )
    identities: list[IdentityOut] = Field(
        description="What reports attach to it by: its external ids, e-mail addresses, phones"
    )
    possible_duplicates: list[str] = Field(
        description="Customers a report named together with this one (an identity of each); "
        "never merged automatically"
    )
    incidents: IncidentSummary

    @classmethod
    def of_record(cls, record: CustomerRecord) -> "CustomerDetailOut":
        by_channel: Counter[str] = Counter()
        by_status: Counter[str] = Counter()
        for count in record.incidents:
            by_channel[count.channel] += count.count
            by_status[count.status] += count.count
        return cls(
            **record.customer.model_dump(),
            created_at=record.created_at,
            updated_at=record.updated_at,
            created_by_client=record.created_by_client,
            identities=[IdentityOut(kind=str(i.kind), value=i.value) for i in record.identities],
            possible_duplicates=record.possible_duplicates,
            incidents=IncidentSummary(
                total=by_channel.total(),
                open=sum(n for status, n in by_status.items() if status in OPEN_STATUSES),
                by_channel=dict(by_channel),
                by_status=dict(by_status),
            ),
        )


class CustomerAmendmentIn(BaseModel):
    """Fields of the customer record to set, at least one; null clears the name or time zone.
    Identities (external ids, e-mail, phone) come from reports and are not changed here."""

    # minProperties: the rule of _sets_something, stated in the schema.
    model_config = ConfigDict(extra="forbid", frozen=True, json_schema_extra={"minProperties": 1})

    name: ShortText | None = None
    # A customer always has a language and a tier: absent keeps them, null is refused (and
    # not offered by the schema).
    language: Language | SkipJsonSchema[None] = None
    tier: CustomerTier | SkipJsonSchema[None] = None
    time_zone: TimeZone | None = None

    @field_validator("language", "tier")
    @classmethod
    def _not_null(cls, value: object) -> object:
        # Only called when given: a customer always has a language and a tier.
        if value is None:
            raise ValueError("cannot be null")
        return value

    @model_validator(mode="after")
    def _sets_something(self) -> Self:
        if not self.model_fields_set:
            raise ValueError("give name, language, tier or time_zone")
        return self

    def columns(self) -> dict[str, Any]:
        """The columns to set, as text."""
        return {
            name: None if value is None else str(value)
            for name, value in self.model_dump(include=self.model_fields_set).items()
        }
