"""Which facts of an incident its customer may see: the public timeline shows status changes,
the resolution, the assignment and public comments; internal notes, severity and kind changes
stay with the agents."""

from incident_events import EventData
from incident_events.incidents import IncidentCommented, IncidentResolved, IncidentStatusChanged
from incident_events.routing import IncidentAssigned
from incident_events.types import Visibility


def is_public(fact: EventData) -> bool:
    match fact:
        case IncidentCommented(visibility=visibility):
            return visibility == Visibility.PUBLIC
        case IncidentStatusChanged() | IncidentResolved() | IncidentAssigned():
            return True
        case _:
            return False
