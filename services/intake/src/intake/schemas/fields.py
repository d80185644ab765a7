"""Field types shared by intake's request bodies: bounded text without NUL, languages, slugs,
time zones, and the ids in URLs."""

import zoneinfo
from functools import cache
from typing import Annotated, Any

from fastapi import Path, Query
from incident_kit.fields import NoNul as NoNul  # re-exported for intake's modules
from incident_kit.fields import NotBlank as NotBlank
from pydantic import Field, GetCoreSchemaHandler, GetJsonSchemaHandler, StringConstraints
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema, core_schema

# Not zones a customer lives in: the server's own setting, and tzdata's placeholder.
NOT_CUSTOMER_ZONES = frozenset({"localtime", "Factory"})


@cache
def time_zone_names() -> list[str]:
    """The IANA names known to the system's (or the tzdata package's) database, sorted."""
    return sorted(zoneinfo.available_timezones() - NOT_CUSTOMER_ZONES)


@cache
def _time_zones() -> frozenset[str]:
    # A set, so a hostile name is never opened as a path.
    return frozenset(time_zone_names())


def _known_time_zone(value: str) -> str:
    if value not in _time_zones():
        raise ValueError("not an IANA time zone name, e.g. Europe/Prague or America/New_York")
    return value


class _TimeZoneName:
    """A str that is a known IANA name, documented as the `TimeZone` schema listing them all:
    the schema accepts exactly what validation does (a pattern could not)."""

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> CoreSchema:
        text = core_schema.str_schema(max_length=64)
        return core_schema.no_info_after_validator_function(_known_time_zone, text, ref="TimeZone")

    def __get_pydantic_json_schema__(
        self, schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        json_schema = handler(schema)
        handler.resolve_ref_schema(json_schema).update(
            title="TimeZone",
            description="An IANA time zone name, e.g. Europe/Prague.",
            enum=time_zone_names(),
        )
        return json_schema


# Text fields: bounded, without NUL (PostgreSQL cannot store it), documented as the schema's
# pattern (incident_kit.fields). Stored as given: a title is not trimmed, as the schema's
# maxLength counts what is sent. HTML is kept as text; intake never renders it.
Title = Annotated[str, StringConstraints(min_length=1, max_length=200), NotBlank]
Description = Annotated[str, StringConstraints(max_length=20_000), NoNul]
ShortText = Annotated[str, StringConstraints(min_length=1, max_length=200), NoNul]
Language = Annotated[str, Field(pattern=r"^[a-z]{2}$", description="ISO 639-1 code, e.g. en")]
Slug = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,49}$")]
TimeZone = Annotated[str, _TimeZoneName()]
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
