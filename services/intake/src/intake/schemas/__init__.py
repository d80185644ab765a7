"""The HTTP bodies of intake's API: requests strictly validated (every error naming its field),
and the representations it answers with."""

from intake.schemas.changes import AmendmentIn, CommentIn, StatusChangeIn
from intake.schemas.customers import CustomerAmendmentIn, CustomerDetailOut
from intake.schemas.reports import CustomerIn, IncidentIn
from intake.schemas.views import (
    CommentOut,
    IncidentDetailOut,
    IncidentOut,
    IncidentPage,
    TimelineEntry,
)

__all__ = [
    "AmendmentIn",
    "CommentIn",
    "CommentOut",
    "CustomerAmendmentIn",
    "CustomerDetailOut",
    "CustomerIn",
    "IncidentDetailOut",
    "IncidentIn",
    "IncidentOut",
    "IncidentPage",
    "StatusChangeIn",
    "TimelineEntry",
]
