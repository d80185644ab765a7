"""Validation of the requests that change an incident, and the listing cursor, table-driven:
each bad input is refused naming its field; good input becomes the domain's request."""

from datetime import UTC, datetime
from typing import Any

import pytest
from incident_events.types import AuthorKind, IncidentKind, IncidentStatus, Visibility
from intake.schemas import AmendmentIn, CommentIn, IncidentIn, StatusChangeIn
from intake.schemas.paging import InvalidCursor, decode_cursor, encode_cursor
from pydantic import BaseModel, ValidationError


def error_fields(model: type[BaseModel], document: dict[str, Any]) -> set[str]:
    with pytest.raises(ValidationError) as caught:
        model.model_validate(document)
    return {".".join(str(part) for part in e["loc"]) for e in caught.value.errors()}


AGENT = {"kind": "agent", "id": "olga"}


@pytest.mark.parametrize(
    ("model", "document", "field"),
    [
        (StatusChangeIn, {"reason": "r"}, "status"),
        (StatusChangeIn, {"status": "done", "reason": "r"}, "status"),
        (StatusChangeIn, {"status": "resolved"}, "reason"),
        (StatusChangeIn, {"status": "resolved", "reason": "  "}, "reason"),
        (StatusChangeIn, {"status": "resolved", "reason": 7}, "reason"),
        (StatusChangeIn, {"status": "closed", "reason": "r" * 2001}, "reason"),
        (
            StatusChangeIn,
            {"status": "resolved", "reason": "r", "resolution_summary": ""},
            "resolution_summary",
        ),
        (StatusChangeIn, {"status": "closed", "reason": "r", "by": "x"}, "by"),
        (CommentIn, {"author": AGENT}, "body"),
        (CommentIn, {"author": AGENT, "body": " \n "}, "body"),
        (CommentIn, {"author": AGENT, "body": "nul\x00"}, "body"),
        (CommentIn, {"author": AGENT, "body": "b", "visibility": "secret"}, "visibility"),
        (CommentIn, {"author": {"kind": "robot"}, "body": "b"}, "author"),
        (CommentIn, {"author": {"kind": "agent"}, "body": "b"}, "author.agent.id"),
        (CommentIn, {"author": "olga", "body": "b"}, "author"),
        (AmendmentIn, {}, ""),
        (AmendmentIn, {"severity": "urgent"}, "severity"),
        (AmendmentIn, {"kind": "outage"}, "kind"),
        (AmendmentIn, {"kind": "billing", "status": "closed"}, "status"),
        (
            IncidentIn,
            {"title": "t", "severity": "low", "kind": "outage", "customer": {"customer_id": "c"}},
            "kind",
        ),
    ],
)
def test_bad_input_names_the_field(
    model: type[BaseModel], document: dict[str, Any], field: str
) -> None:
    assert field in error_fields(model, document)


def test_good_requests_become_the_domains() -> None:
    change = StatusChangeIn.model_validate(
        {"status": "resolved", "reason": "fixed", "resolution_summary": " <i>Done</i> "}
    ).to_change()
    assert change.target is IncidentStatus.RESOLVED and change.resolution == " <i>Done</i> "
    comment = CommentIn.model_validate(
        {"author": {"kind": "customer"}, "body": "<script>x</script>"}
    ).to_comment()
    assert (comment.author_kind, comment.author_id) == (AuthorKind.CUSTOMER, None)
    assert comment.visibility is Visibility.PUBLIC and comment.body == "<script>x</script>"
    amendment = AmendmentIn.model_validate({"kind": "service_request"}).to_amendment()
    assert amendment.kind is IncidentKind.SERVICE_REQUEST and amendment.severity is None


def test_cursor_round_trip_and_garbage() -> None:
    moment = datetime(2026, 11, 23, 9, 0, 0, 123456, tzinfo=UTC)
    assert decode_cursor(encode_cursor(moment, "i-1")) == (moment, "i-1")
    for garbage in ("", "!!!", "bm90IGpzb24", encode_cursor(moment, "i")[:-3], "WzEsMl0"):
        with pytest.raises(InvalidCursor):
            decode_cursor(garbage)
