"""The service's AsyncAPI document and page: per topic, the event types the service consumes and
publishes, each with its typed CloudEvents payload.

FastStream documents the raw batch the kit's subscriber takes, with no payload; the kit knows
better (`subscribe(..., acts_on=...)` and `declare_publications`), so it rewrites each channel's
messages from the event classes themselves.
"""

from collections.abc import Iterable, Sequence
from typing import Any, Protocol

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, JSONResponse
from faststream.kafka import KafkaBroker
from faststream.specification import AsyncAPI
from faststream.specification.asyncapi.site import get_asyncapi_html
from incident_events import EventData
from incident_events.envelope import CONTENT_TYPE, event_class_of

REF = "#/components/schemas/{model}"


class DocumentedService(Protocol):
    name: str
    broker: KafkaBroker
    consumes: dict[str, list[type[EventData]]]
    publishes: dict[str, list[type[EventData]]]


def declare_publications(runtime: DocumentedService, facts: Iterable[type[EventData]]) -> None:
    """Name the facts this service publishes (through its outbox), for the AsyncAPI document."""
    for fact in facts:
        topic = str(fact.topic)
        runtime.publishes[topic] = [*runtime.publishes.get(topic, []), fact]


def asyncapi_router(runtime: DocumentedService, title: str, description: str) -> APIRouter:
    router = APIRouter(tags=["operations"])
    specification = AsyncAPI(runtime.broker, title=title, description=description, version="1.0.0")

    @router.get("/asyncapi", response_class=HTMLResponse, include_in_schema=False)
    async def asyncapi_page() -> HTMLResponse:
        return HTMLResponse(get_asyncapi_html(specification.to_specification()))

    @router.get("/asyncapi.json", include_in_schema=False)
    async def asyncapi_document() -> JSONResponse:
        document = specification.to_specification().to_jsonable()
        return JSONResponse(typed_document(document, runtime))

    return router


def typed_document(document: dict[str, Any], runtime: DocumentedService) -> dict[str, Any]:
    """Replace FastStream's untyped channels with one channel per topic and typed messages."""
    components: dict[str, Any] = {"messages": {}, "schemas": {}}
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    servers = [{"$ref": f"#/servers/{name}"} for name in document.get("servers", {})]
    for action, by_topic in (("receive", runtime.consumes), ("send", runtime.publishes)):
        for topic, facts in sorted(by_topic.items()):
            channel = channels.setdefault(
                topic,
                {"address": topic, "servers": servers, "messages": {}, "bindings": _kafka(topic)},
            )
            names = [_add_message(components, fact) for fact in _unique(facts)]
            for name in names:
                channel["messages"][name] = {"$ref": f"#/components/messages/{name}"}
            operations[f"{runtime.name}:{action}:{topic}"] = {
                "action": action,
                "channel": {"$ref": f"#/channels/{topic}"},
                "messages": [{"$ref": f"#/channels/{topic}/messages/{name}"} for name in names],
            }
    return {**document, "channels": channels, "operations": operations, "components": components}


def _add_message(components: dict[str, Any], fact: type[EventData]) -> str:
    envelope = event_class_of(fact)
    schema = envelope.model_json_schema(ref_template=REF)
    components["schemas"].update(schema.pop("$defs", {}))
    # Component keys allow no brackets: Event[SlaBreached] is documented as SlaBreachedEvent.
    model = f"{fact.__name__}Event"
    components["schemas"][model] = {**schema, "title": model}
    name = fact.event_type
    components["messages"][name] = {
        "name": name,
        "title": fact.__name__,
        "summary": (fact.__doc__ or "").strip().split("\n")[0],
        "contentType": CONTENT_TYPE,
        "payload": {"$ref": REF.format(model=model)},
    }
    return name


def _kafka(topic: str) -> dict[str, Any]:
    return {"kafka": {"topic": topic, "bindingVersion": "0.4.0"}}


def _unique(facts: Sequence[type[EventData]]) -> list[type[EventData]]:
    return list(dict.fromkeys(facts))
