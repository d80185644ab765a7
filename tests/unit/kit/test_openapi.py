"""The kit's answers in OpenAPI: each status a route can get from the kit is documented there,
as problem+json with one ProblemDetails schema, and only where it can happen."""

from typing import Annotated, Any

import pytest
from fastapi import APIRouter, Depends, FastAPI, Query
from incident_kit.http import api_key_guard
from incident_kit.openapi import PROBLEM_REF, install_problem_documentation
from incident_kit.problems import PROBLEM_JSON, install_problem_handlers
from pydantic import BaseModel


class Note(BaseModel):
    text: str


def documented_app() -> FastAPI:
    app = FastAPI()
    install_problem_handlers(app)
    install_problem_documentation(app)
    guarded = APIRouter(dependencies=[Depends(api_key_guard(frozenset({"k"})))])

    @guarded.post("/notes", responses={409: {"description": "Already noted"}})
    async def add(note: Note) -> Note:
        return note

    @guarded.get("/notes")
    async def find(text: Annotated[str, Query(max_length=20)] = "") -> list[Note]:
        return []

    @guarded.get("/count")
    async def count() -> int:
        return 0

    @app.get("/public/{name}")
    async def public(name: str) -> str:
        return name

    @app.get("/healthz", responses={503: {"description": "dead"}})
    async def alive() -> dict[str, str]:
        return {"status": "ok"}

    app.include_router(guarded)
    return app


def statuses(schema: dict[str, Any], path: str, method: str) -> set[str]:
    return set(schema["paths"][path][method]["responses"])


@pytest.mark.parametrize(
    ("path", "method", "expected"),
    [
        # A body: unreadable (400), too large (413), invalid (422); guarded: 401.
        ("/notes", "post", {"200", "400", "401", "409", "413", "422", "500", "503"}),
        ("/notes", "get", {"200", "401", "422", "500", "503"}),  # parameters only
        ("/count", "get", {"200", "401", "500", "503"}),  # nothing to validate
        ("/public/{name}", "get", {"200", "422", "500", "503"}),  # no API key
        ("/healthz", "get", {"200", "503"}),  # never shed, needs no key: its own answers
    ],
)
def test_each_operation_documents_what_the_kit_can_answer(
    path: str, method: str, expected: set[str]
) -> None:
    assert statuses(documented_app().openapi(), path, method) == expected


def test_every_error_is_problem_json_with_the_shared_schema() -> None:
    schema = documented_app().openapi()
    for path, item in schema["paths"].items():
        if path == "/healthz":
            continue
        for operation in item.values():
            for status, response in operation["responses"].items():
                if status[0] in "45":
                    assert response["content"] == {PROBLEM_JSON: {"schema": PROBLEM_REF}}
    components = schema["components"]["schemas"]
    assert "ProblemDetails" in components
    assert not {"HTTPValidationError", "ValidationError"} & set(components)


def test_headers_of_401_and_503_and_the_guard_as_a_security_scheme() -> None:
    schema = documented_app().openapi()
    responses = schema["paths"]["/notes"]["post"]["responses"]
    assert set(responses["401"]["headers"]) == {"WWW-Authenticate"}
    assert set(responses["503"]["headers"]) == {"Retry-After"}
    assert responses["409"]["description"] == "Already noted"  # the route's own words stay
    assert schema["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"
    assert "security" in schema["paths"]["/notes"]["post"]
    assert "security" not in schema["paths"]["/public/{name}"]["get"]


def test_the_schema_is_built_once() -> None:
    app = documented_app()
    assert app.openapi() is app.openapi()
