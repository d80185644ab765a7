"""Service calendars: how an SLA target in working time maps onto wall-clock moments.

A policy names its calendar; clocks ask it where a target lands. Only "24x7" exists today;
a business-hours calendar (time zone, weekly hours, holidays) plugs in by implementing
`Calendar` and registering under its name.
"""

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Protocol


class Calendar(Protocol):
    def add(self, start: datetime, working: timedelta) -> datetime:
        """The moment when `working` time has passed on this calendar since `start`."""
        ...


class TwentyFourSeven:
    """Every second counts: working time is wall-clock time."""

    def add(self, start: datetime, working: timedelta) -> datetime:
        return start + working


TWENTY_FOUR_SEVEN = TwentyFourSeven()
CALENDARS: Mapping[str, Calendar] = {"24x7": TWENTY_FOUR_SEVEN}


class UnknownCalendar(LookupError):
    """A policy or clock names a calendar this service does not have."""


def calendar_named(name: str) -> Calendar:
    try:
        return CALENDARS[name]
    except KeyError:
        raise UnknownCalendar(f"unknown calendar {name!r}; known: {sorted(CALENDARS)}") from None
