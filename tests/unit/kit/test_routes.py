"""Routes as one handler: each event goes to the route acting on its type, with that route's
own filter, and two routes acting on one type are refused when declared."""

from datetime import UTC, datetime

import pytest
from incident_events import Topic
from incident_events.incidents import IncidentReopened, IncidentResolved
from incident_events.routing import IncidentAssigned
from incident_kit.consumer import Received
from incident_kit.routes import Route, Routes

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


async def ignore(received: Received) -> None:
    return None


async def other(received: Received) -> None:
    return None


def test_each_event_type_goes_to_the_route_acting_on_it() -> None:
    incidents = Route(Topic.INCIDENTS, ignore, (IncidentReopened, IncidentResolved), "facts")
    assignments = Route(
        Topic.ASSIGNMENTS,
        other,
        (IncidentAssigned,),
        "assignees",
        acts_if=lambda data: isinstance(data, IncidentAssigned) and data.agent_id != "bot",
    )
    routes = Routes([incidents, assignments])
    by_ann = IncidentAssigned(incident_id="i", agent_id="ann", reason="r", assigned_at=T0)
    by_bot = IncidentAssigned(incident_id="i", agent_id="bot", reason="r", assigned_at=T0)
    reopening = IncidentReopened(incident_id="i", reopened_at=T0, reason="r")

    assert routes.route_of(reopening) is incidents
    assert routes.route_of(by_ann) is assignments
    assert routes.acts_on == (IncidentReopened, IncidentResolved, IncidentAssigned)
    assert routes.acts_if(reopening) and routes.acts_if(by_ann)
    assert not routes.acts_if(by_bot)  # the assignments route's own filter
    assert routes.topics == [Topic.INCIDENTS, Topic.ASSIGNMENTS]
    assert routes.description == "facts assignees"


def test_two_routes_acting_on_one_type_are_refused() -> None:
    first = Route(Topic.INCIDENTS, ignore, (IncidentReopened,), "one")
    second = Route(Topic.INCIDENTS, other, (IncidentReopened, IncidentResolved), "two")

    with pytest.raises(ValueError, match="IncidentReopened is acted on by two routes"):
        Routes([first, second])


def test_no_route_is_refused() -> None:
    with pytest.raises(ValueError, match="no route"):
        Routes([])
