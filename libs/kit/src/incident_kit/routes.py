"""Routes: which handler of a service acts on which events of which topic.

A service that consumes several topics runs one consumer for all of them (`subscribe_all`), so
one batch, one transaction and one offset commit serve whatever came on any of them. Each event
type is published to one topic (`EventData.topic`), so the type alone tells which route's
handler an event goes to; two routes acting on one type are refused when they are declared.
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from incident_events import EventData, Topic

from incident_kit.batch import EventHandler, Received


def always(data: EventData) -> bool:
    """Act on every event of the route's types."""
    return True


@dataclass(frozen=True)
class Route:
    """`handle` sees the first delivery of each event on `topic` whose payload is one of
    `acts_on` and passes `acts_if`; the others cost no transaction."""

    topic: Topic
    handle: EventHandler
    acts_on: tuple[type[EventData], ...]
    description: str
    acts_if: Callable[[EventData], bool] = always


class Routes:
    """Several routes as one handler, for one consumer of their topics."""

    def __init__(self, routes: Sequence[Route]) -> None:
        if not routes:
            raise ValueError("no route to subscribe")
        claimed: dict[type[EventData], Route] = {}
        for route in routes:
            for fact in route.acts_on:
                if fact in claimed:
                    raise ValueError(
                        f"{fact.__name__} is acted on by two routes "
                        f"({claimed[fact].topic}, {route.topic}): give it one handler"
                    )
                claimed[fact] = route
        self.routes = tuple(routes)
        self.acts_on = tuple(claimed)

    def route_of(self, data: EventData) -> Route:
        for route in self.routes:
            if isinstance(data, route.acts_on):
                return route
        raise LookupError(f"no route acts on {type(data).__name__}")  # filtered out before

    def acts_if(self, data: EventData) -> bool:
        return self.route_of(data).acts_if(data)

    async def handle(self, received: Received) -> None:
        await self.route_of(received.event.data).handle(received)

    @property
    def topics(self) -> list[Topic]:
        return list(dict.fromkeys(route.topic for route in self.routes))

    @property
    def description(self) -> str:
        return " ".join(route.description for route in self.routes if route.description)
