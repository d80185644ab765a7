"""Field types shared by intake's request bodies: bounded text without NUL, languages, slugs,
time zones, and the ids in URLs."""

import zoneinfo
from functools import cache
from typing import Annotated

from fastapi import Path, Query
from incident_kit.fields import NoNul as NoNul  # re-exported for intake's modules
from incident_kit.fields import NotBlank as NotBlank
from pydantic import AfterValidator, Field, StringConstraints


@cache
def _time_zones() -> frozenset[str]:
    # Read once from the system's (or the tzdata package's) database; a set, so a hostile name
    # is never opened as a path.
    return frozenset(zoneinfo.available_timezones())


def _known_time_zone(value: str) -> str:
    if value not in _time_zones():
        raise ValueError("not an IANA time zone name, e.g. Europe/Prague or America/New_York")
    return value


# Text fields: bounded, without NUL (PostgreSQL cannot store it), documented as the schema's
# pattern (incident_kit.fields). Stored as given: a title is not trimmed, as the schema's
# maxLength counts what is sent. HTML is kept as text; intake never renders it.
Title = Annotated[str, StringConstraints(min_length=1, max_length=200), NotBlank]
Description = Annotated[str, StringConstraints(max_length=20_000), NoNul]
ShortText = Annotated[str, StringConstraints(min_length=1, max_length=200), NoNul]
Language = Annotated[str, Field(pattern=r"^[a-z]{2}$", description="ISO 639-1 code, e.g. en")]
Slug = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,49}$")]
TimeZone = Annotated[
    str,
    StringConstraints(max_length=64),
    AfterValidator(_known_time_zone),
    Field(description="IANA time zone name, e.g. Europe/Prague.", examples=["Europe/Prague"]),
]
# What people write about an incident is stored as given, but must say something.
Note = Annotated[str, StringConstraints(min_length=1, max_length=2_000), NoNul, NotBlank]
CommentBody = Annotated[str, StringConstraints(min_length=1, max_length=20_000), NoNul, NotBlank]

# In URLs: an incident id as intake makes them (a UUID; 64 at most, like the events' field), and
# ids of customers and agents as filters. PostgreSQL text cannot hold NUL: refused here, not 500.
IncidentId = Annotated[
    str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._:-]+$", description="e.g. a UUID")
]
IdFilter = Annotated[str | None, Query(min_length=1, max_length=200, pattern=r"^[^\x00]+$")]
CustomerId = Annotated[
    str,
    Path(
        min_length=1,
        max_length=200,
        pattern=r"^[^\x00]+$",
        description="The customer's id, or any external id linked to it",
    ),
]
