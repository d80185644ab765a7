"""The requests that change an incident after its report: a status change, a comment, and an
amendment of severity or kind. Strictly validated; the lifecycle rules are the domain's."""

from typing import Annotated, Literal, Self
from uuid import uuid4

from incident_events.types import AuthorKind, IncidentKind, IncidentStatus, Severity, Visibility
from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic.config import JsonDict

from intake.domain import Amendment, Comment, StatusChange
from intake.schemas.fields import CommentBody, Note, ShortText


class StatusChangeIn(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    status: IncidentStatus = Field(description="The status to move to.")
    reason: Note = Field(description="Why; shown on the incident's timeline.")
    resolution_summary: Note | None = Field(
        default=None,
        description="Required when the status becomes resolved: what was done, told to the "
        "customer. Not allowed with any other status.",
    )
    changed_by: ShortText | None = Field(default=None, description="The agent's id.")

    def to_change(self) -> StatusChange:
        return StatusChange(
            target=self.status,
            reason=self.reason,
            changed_by=self.changed_by,
            resolution=self.resolution_summary,
        )


class AgentAuthor(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: Literal[AuthorKind.AGENT]
    id: ShortText = Field(description="The agent's id, as the router knows it.")


class CustomerAuthor(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: Literal[AuthorKind.CUSTOMER]
    id: ShortText | None = Field(
        default=None, description="The incident's customer_id; defaults to it."
    )


class CommentIn(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    author: Annotated[AgentAuthor | CustomerAuthor, Field(discriminator="kind")]
    visibility: Visibility = Field(
        default=Visibility.PUBLIC,
        description="internal notes are for agents only; a customer's comment is public.",
    )
    body: CommentBody = Field(description="Stored as given; rendered escaped.")

    def to_comment(self) -> Comment:
        return Comment(
            comment_id=str(uuid4()),
            author_kind=self.author.kind,
            author_id=self.author.id,
            visibility=self.visibility,
            body=self.body,
        )


# The rule of AmendmentIn._changes_something, for the schema: severity or kind, not null.
_CHANGES_SOMETHING: JsonDict = {
    "anyOf": [
        {"required": [name], "properties": {name: {"type": "string"}}}
        for name in ("severity", "kind")
    ]
}


class AmendmentIn(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, json_schema_extra=_CHANGES_SOMETHING)

    severity: Severity | None = None
    kind: IncidentKind | None = None
    reason: Note | None = None
    changed_by: ShortText | None = Field(default=None, description="The agent's id.")

    @model_validator(mode="after")
    def _changes_something(self) -> Self:
        if self.severity is None and self.kind is None:
            raise ValueError("give severity or kind")
        return self

    def to_amendment(self) -> Amendment:
        return Amendment(
            severity=self.severity, kind=self.kind, reason=self.reason, changed_by=self.changed_by
        )
